/* gunzip.c: being written */
