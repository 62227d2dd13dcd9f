/* mime.c: being written */
