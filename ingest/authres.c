/* authres.c: being written */
