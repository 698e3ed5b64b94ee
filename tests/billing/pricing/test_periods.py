import datetime as dt
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.pricing import iter_periods, next_period_end

UTC = dt.UTC


def at(y, m, d, h=0):
    return dt.datetime(y, m, d, h, tzinfo=UTC)


def test_month_end_anchor_clamps_and_returns_to_the_31st():
    ends = [end for _start, end in islice(iter_periods(at(2025, 1, 31), "month"), 5)]
    assert ends == [at(2025, 2, 28), at(2025, 3, 31), at(2025, 4, 30), at(2025, 5, 31), at(2025, 6, 30)]


def test_month_end_anchor_in_a_leap_year_lands_on_29_february():
    assert next_period_end(at(2024, 1, 31), "month", anchor_day=31) == at(2024, 2, 29)


def test_feeding_the_clamped_end_back_with_the_anchor_keeps_the_anchor():
    assert next_period_end(at(2025, 2, 28), "month", anchor_day=31) == at(2025, 3, 31)


def test_yearly_on_29_february_renews_on_28_february_then_29_in_the_next_leap_year():
    ends = [end for _start, end in islice(iter_periods(at(2024, 2, 29), "year"), 4)]
    assert ends == [at(2025, 2, 28), at(2026, 2, 28), at(2027, 2, 28), at(2028, 2, 29)]


def test_weekly_and_daily_periods_are_exact():
    assert next_period_end(at(2025, 12, 29, 9), "week") == at(2026, 1, 5, 9)
    assert next_period_end(at(2025, 12, 29, 9), "week", 2) == at(2026, 1, 12, 9)
    assert next_period_end(at(2024, 2, 28), "day", 2) == at(2024, 3, 1)


def test_interval_counts_quarterly_and_biennial():
    assert next_period_end(at(2025, 11, 30), "month", 3) == at(2026, 2, 28)
    assert next_period_end(at(2025, 1, 15, 12), "year", 2) == at(2027, 1, 15, 12)


def test_time_of_day_is_kept():
    assert next_period_end(at(2025, 3, 31, 17), "month") == at(2025, 4, 30, 17)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": dt.datetime(2025, 1, 1), "interval": "month"},
        {"start": at(2025, 1, 1), "interval": "fortnight"},
        {"start": at(2025, 1, 1), "interval": "month", "count": 0},
        {"start": at(2025, 1, 1), "interval": "month", "anchor_day": 32},
    ],
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        next_period_end(**kwargs)


starts = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC))


# No deadline: the machine is shared and slow moments are not failures of the engine.
@settings(deadline=None)
@given(start=starts, interval=st.sampled_from(["day", "week", "month", "year"]), count=st.integers(1, 14))
def test_periods_are_contiguous_and_strictly_increasing(start, interval, count):
    periods = list(islice(iter_periods(start, interval, count), 30))
    for (s, e), (next_s, _next_e) in zip(periods, periods[1:]):
        assert s < e
        assert e == next_s


@settings(deadline=None)
@given(start=starts, count=st.integers(1, 12))
def test_monthly_periods_keep_the_anchor_day_clamped(start, count):
    anchor = start.day
    for _s, e in islice(iter_periods(start, "month", count), 24):
        import calendar

        assert e.day == min(anchor, calendar.monthrange(e.year, e.month)[1])
        assert (e.hour, e.minute, e.second, e.microsecond) == (start.hour, start.minute, start.second, start.microsecond)
