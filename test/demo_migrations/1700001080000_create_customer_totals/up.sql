CREATE VIEW public.customer_totals AS
	SELECT c.id, c.name, count(o.id) AS orders, coalesce(sum(o.total), 0) AS spent
	FROM public.customers c
	LEFT JOIN public.orders o ON o.customer_id = c.id AND o.status <> 'cancelled'
	GROUP BY c.id, c.name;
