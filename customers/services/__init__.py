from .customers import customer_create, customer_delete, customer_update

__all__ = ["customer_create", "customer_delete", "customer_update"]
