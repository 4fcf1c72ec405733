SELECT count(*) FROM books WHERE genre = 'Fantasy'	bookshop
SELECT title, price FROM books ORDER BY price DESC LIMIT 3	bookshop
SELECT T1.first_name, T1.last_name, count(*) FROM authors AS T1 JOIN books AS T2 ON T1.author_id = T2.author_id GROUP BY T1.author_id HAVING count(*) > 10	bookshop
SELECT country, avg(total_amount) FROM customers AS c JOIN orders AS o ON c.customer_id = o.customer_id WHERE o.status = 'delivered' GROUP BY country ORDER BY avg(total_amount) DESC LIMIT 5	bookshop
SELECT first_name, last_name FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM orders)	bookshop
SELECT name FROM departments	clinic
SELECT specialty, count(*) FROM doctors GROUP BY specialty	clinic
SELECT T1.first_name, T1.last_name FROM patients AS T1 JOIN appointments AS T2 ON T1.patient_id = T2.patient_id WHERE T2.diagnosis = 'Hypertension' INTERSECT SELECT T1.first_name, T1.last_name FROM patients AS T1 JOIN appointments AS T2 ON T1.patient_id = T2.patient_id WHERE T2.status = 'cancelled'	clinic
SELECT generic_name FROM medications WHERE unit_price > (SELECT avg(unit_price) FROM medications) ORDER BY unit_price DESC	clinic
SELECT count(*) FROM prescriptions WHERE end_date IS NULL	clinic
SELECT country, count(*) FROM airports GROUP BY country ORDER BY count(*) DESC LIMIT 1	airline
SELECT flight_number, distance_km FROM flights WHERE status = 'cancelled' AND distance_km > 5000	airline
SELECT T2.first_name, T2.last_name, sum(T1.price) FROM bookings AS T1 JOIN passengers AS T2 ON T1.passenger_id = T2.passenger_id GROUP BY T1.passenger_id ORDER BY sum(T1.price) DESC LIMIT 3	airline
SELECT model FROM aircraft WHERE aircraft_id NOT IN (SELECT aircraft_id FROM flights WHERE status = 'delayed') EXCEPT SELECT model FROM aircraft WHERE seat_capacity < 100	airline
DELETE FROM bookings WHERE status = 'refunded'	airline
