/* spool.c: being written */
