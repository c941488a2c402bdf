CREATE TYPE public.order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
ALTER TABLE public.orders ADD COLUMN status public.order_status NOT NULL DEFAULT 'pending';
