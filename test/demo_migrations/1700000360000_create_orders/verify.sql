SELECT id, customer_id, total, placed_at FROM public.orders WHERE false;
