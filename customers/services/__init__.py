from .customers import customer_create, customer_delete, customer_update
from .members import member_create, member_delete, member_update, members_delete_for_customer

__all__ = [
    "customer_create",
    "customer_delete",
    "customer_update",
    "member_create",
    "member_delete",
    "member_update",
    "members_delete_for_customer",
]
