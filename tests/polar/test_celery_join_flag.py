"""Celery's eager mode keeps one process-wide "a task is running" flag (``task_join_will_block``), set and
restored around every eager task. Threads that run eager tasks at once can restore it in the wrong order and
leave it on; a later test calling ``result.get()`` then failed with "Never call result.get() within a task!"
(issue 23: seen only in a random test order). tests/conftest.py clears it before each test."""

from celery._state import task_join_will_block
from celery.result import denied_join_result

from billing.tasks import subscription_cycle_batch


def test_two_interleaved_eager_tasks_leave_the_flag_on(db):  # db: keeps it before the next test (pytest-django sorts by db use)
    first, second = denied_join_result(), denied_join_result()
    first.__enter__()  # thread A starts an eager task: the flag was off, A will put "off" back
    second.__enter__()  # thread B starts one while A runs: the flag is on, B will put "on" back
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)  # B finishes last and leaves the flag on for everyone
    assert task_join_will_block() is True


def test_a_later_test_can_read_an_eager_result(db):
    # Runs after the test above in file order: without the conftest reset this raised RuntimeError.
    assert task_join_will_block() is False
    assert subscription_cycle_batch.apply(args=[[]]).get() == 0
