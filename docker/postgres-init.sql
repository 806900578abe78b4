-- First start of the PostgreSQL container only: the second database Temporal uses
-- (POSTGRES_DB creates the first).
CREATE DATABASE temporal_visibility;
