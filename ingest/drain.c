/* drain.c: being written */
