"""Qt item models over lists of DTOs (never ORM rows)."""
