/* source.c: being written */
