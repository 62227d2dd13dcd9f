/* parse.c: being written */
