"""A FastAPI service that hands work to taskiq workers over Redis (see README.md)."""
