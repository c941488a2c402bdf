DROP TABLE public.customers;
