/*
 * schema.h - the migrations from schema/NNN-name.sql files, embedded at build time.
 * tr_schema_migrations[i] brings a database from user_version i to i+1.
 */
#ifndef TLSRPT_SCHEMA_H
#define TLSRPT_SCHEMA_H
extern const char *const tr_schema_migrations[];
extern const int tr_schema_version;
#endif
