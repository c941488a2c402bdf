DROP VIEW public.customer_totals;
