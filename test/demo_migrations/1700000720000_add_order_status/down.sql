ALTER TABLE public.orders DROP COLUMN status;
DROP TYPE public.order_status;
