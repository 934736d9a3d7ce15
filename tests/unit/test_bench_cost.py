"""The price arithmetic of bench/cost.py on known counts, each expected figure worked out by hand
from the list prices in bench/prices.py (us-east-1)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # cost_model imports prices by name; dataclasses look their module up
    spec.loader.exec_module(module)
    return module


prices = _load("prices")
model = _load("cost_model")

REST = model.Front("rest", "CloudFront -> REST API -> collector", ("cloudfront_request", "apigw_rest_request"),
                   access_log_bytes=174)
URL = model.Front("url", "function URL", (), cloudfront=False)
QUIET = model.Options(platform_logs=False, app_logs=False, access_logs=False, pitr=False, event_ttl_days=0)


def direct_run(**kw: object) -> object:
    fields: dict[str, object] = dict(
        events=1_000, requests=1_000,
        functions={"event-collector": model.FunctionUse(invocations=1_000, billed_ms=20, memory_mb=128)},
        write_units=16_600, read_units=1_000)
    fields.update(kw)
    return model.Usage(**fields)


def test_requests_compute_and_table_units_per_million_events() -> None:
    c = model.costs(direct_run(), REST, QUIET)
    assert c["requests"] == pytest.approx(1.00 + 3.50)  # CloudFront + REST API, one request per event
    assert c["waf"] == 0
    assert c["lambda requests"] == pytest.approx(0.20)
    # 1e6 invocations x 0.020 s x 0.125 GB x $0.0000133334 per GB-s
    assert c["lambda duration"] == pytest.approx(0.0333335)
    assert c["dynamodb writes"] == pytest.approx(16.6 * 0.625)  # 10.375
    assert c["dynamodb reads"] == pytest.approx(0.125)
    assert c["kinesis"] == 0 and c["stream hours"] == 0
    assert sum(c.values()) == pytest.approx(4.50 + 0.20 + 0.0333335 + 10.375 + 0.125)


def test_ten_events_per_request_share_the_request_fees() -> None:
    run = direct_run(requests=100, functions={"event-collector": model.FunctionUse(100, 20, 128)})
    c = model.costs(run, REST, model.Options(waf=True, platform_logs=False, app_logs=False, pitr=False,
                                             event_ttl_days=0, rate=1e12))
    assert c["requests"] == pytest.approx(0.45)
    assert c["waf"] == pytest.approx(0.06)  # $0.60 per million requests the web ACL processes
    assert c["lambda requests"] == pytest.approx(0.02)


def test_a_function_url_without_cloudfront_pays_no_request_fee_and_cannot_have_waf() -> None:
    c = model.costs(direct_run(response_bytes=1_000 * 1_024), URL, model.Options(
        waf=True, platform_logs=False, app_logs=False, pitr=False, event_ttl_days=0))
    assert c["requests"] == 0 and c["waf"] == 0
    # 1 KiB per answer: 1e6 KiB = 0.9537 GiB at $0.09 (internet) instead of CloudFront's $0.085
    assert c["data transfer"] == pytest.approx(1e6 * 1024 / 2**30 * 0.09)


def test_data_transfer_through_cloudfront() -> None:
    run = direct_run(request_bytes=1_000 * 2_048, response_bytes=1_000 * 512)
    c = model.costs(run, REST, QUIET)
    # per million events: 2 KiB up to the origin at $0.020/GB, 0.5 KiB down to viewers at $0.085/GB
    assert c["data transfer"] == pytest.approx(1e6 * 2048 / 2**30 * 0.020 + 1e6 * 512 / 2**30 * 0.085)


def stream_run() -> object:
    return model.Usage(
        events=1_000, requests=1_000,
        functions={"event-collector": model.FunctionUse(1_000, 30, 128),
                   "aggregator": model.FunctionUse(4, 500, 256)},
        write_units=1_340, read_units=1_000,
        stream_records=1_000, stream_kb=1_000, stream_bytes=600_000, stream_put_units=1_000)


def test_on_demand_stream_at_1000_events_per_second() -> None:
    c = model.costs(stream_run(), REST, model.Options(rate=1000, platform_logs=False, app_logs=False,
                                                     pitr=False, event_ttl_days=0))
    # in: 1e6 records x 1 KiB = 0.9537 GiB x $0.08; out: 6e8 bytes = 0.5588 GiB x $0.04
    assert c["kinesis"] == pytest.approx(1e6 * 1024 / 2**30 * 0.08 + 6e8 / 2**30 * 0.04)
    # $0.04 an hour, 3.6 million events an hour
    assert c["stream hours"] == pytest.approx(0.04 / 3.6)
    # aggregator: 4,000 invocations per million events, 0.5 s at 0.25 GB each
    assert c["lambda requests"] == pytest.approx(0.20 + 4_000 * 0.20 / 1e6)
    assert c["lambda duration"] == pytest.approx(1e6 * 0.030 * 0.125 * 0.0000133334
                                                 + 4_000 * 0.5 * 0.25 * 0.0000133334)
    assert c["dynamodb writes"] == pytest.approx(1.34 * 0.625)


def test_provisioned_stream_pays_shards_for_the_peak_and_put_payload_units() -> None:
    c = model.costs(stream_run(), REST, model.Options(rate=1000, stream="provisioned", peak_to_average=2.0,
                                                     platform_logs=False, app_logs=False, pitr=False,
                                                     event_ttl_days=0))
    assert model.shards(1000, 2.0) == 2  # 2,000 records/s at the peak, 1,000 per shard
    assert c["stream hours"] == pytest.approx(2 * 0.015 / 3.6)
    assert c["kinesis"] == pytest.approx(0.014)  # one PUT payload unit per record; reads are free


def test_platform_log_lines_in_text_format() -> None:
    # START RequestId: <36> Version: 12\n -> 17 + 36 + 10 + 2 + 1 = 66
    # END RequestId: <36>\n -> 15 + 36 + 1 = 52
    # REPORT RequestId: <36>\tDuration: 23.45 ms\tBilled Duration: 24 ms\tMemory Size: 128 MB\t
    #   Max Memory Used: 79 MB\t\n -> 18+36 + 11+5+3 + 18+2+3 + 14+3+3 + 18+2+3 + 2 = 141
    assert model.platform_lines(duration_ms=23.45, memory_mb=128, used_mb=79) == [66, 52, 141]


def test_log_ingestion_counts_lines_plus_26_bytes_each_and_the_access_log() -> None:
    run = direct_run(functions={"event-collector": model.FunctionUse(1_000, 20, 128, log_events=1_000,
                                                                     log_bytes=150_000)})
    per_invocation = 150 + 26 + sum(n + 26 for n in model.platform_lines(20, 128, model.USED_MB))
    access = 174 + 26
    c = model.costs(run, REST, model.Options(pitr=False, event_ttl_days=0, log_retention_days=0))
    assert c["logs"] == pytest.approx(1e6 * (per_invocation + access) / 2**30 * 0.50)
    ia = model.costs(run, REST, model.Options(pitr=False, event_ttl_days=0, log_retention_days=0, log_class="ia",
                                              platform_logs=False))
    assert ia["logs"] == pytest.approx(1e6 * (150 + 26 + access) / 2**30 * 0.25)


def test_storage_for_the_event_ttl() -> None:
    run = direct_run(stored_bytes=1_000 * 700)
    c = model.costs(run, REST, model.Options(platform_logs=False, app_logs=False, event_ttl_days=30, pitr=True))
    # 700 bytes per event kept 30 days: 0.6519 GiB per million events x ($0.25 + $0.20) x 30 / 30.4167
    assert c["dynamodb storage"] == pytest.approx(7e8 / 2**30 * 0.45 * 30 / (365 / 12))


def test_fixed_monthly_fees_spread_over_the_events_of_a_month() -> None:
    c = model.costs(direct_run(), REST, model.Options(rate=10, waf=True, waf_rules=2, alarms=8,
                                                     platform_logs=False, app_logs=False, pitr=False,
                                                     event_ttl_days=0))
    # $5 web ACL + 2 rules + 8 alarms x $0.10 = $7.80 a month, over 10 x 3600 x 730 events
    assert c["fixed"] == pytest.approx(7.80 / (10 * 3600 * 730) * 1e6)


def test_a_month_of_a_site() -> None:
    usage = direct_run()
    options = model.Options(waf=True, platform_logs=False, app_logs=False, access_logs=False, pitr=False,
                            event_ttl_days=0)
    events = 2_000_000
    month = model.month(usage, REST, options, events)
    # the rate follows from the month; every fee is per event but the fixed ones ($5 + 2 x $1)
    per_event = (4.50 + 0.60 + 0.20 + 0.0333335 + 10.375 + 0.125) / 1e6
    assert month == pytest.approx(events * per_event + 7.00)


def test_lambda_time_estimate_scales_cpu_with_memory_and_adds_round_trips() -> None:
    # 2 ms of CPU here at 128 MB (1769/128 = 13.8 of a vCPU's time) + 18 ms waiting: ceil(27.64 + 18)
    assert model.lambda_ms(own_ms=2.0, waits_ms=18.0, memory_mb=128) == 46
    assert model.lambda_ms(own_ms=2.0, waits_ms=0.2, memory_mb=3008) == 3  # a whole vCPU: no scaling
    assert model.lambda_ms(own_ms=0.0, waits_ms=0.0, memory_mb=128) == 1  # Lambda bills at least 1 ms


def test_read_units() -> None:
    assert model.query_read_units([1_000, 5_000], consistent=False) == 1.0  # 6,000 B -> 2 x 4 KB, halved
    assert model.query_read_units([1_000, 5_000], consistent=True) == 2.0
    assert model.query_read_units([], consistent=False) == 0.5  # an empty answer still costs the minimum
    assert model.item_read_units(5_000, consistent=True) == 2.0
    assert model.item_read_units(None, consistent=True) == 1.0  # not found: still read


def test_flat_rate_plans() -> None:
    assert model.flat_rate_plan(900_000) == ("Free", 0.0)
    assert model.flat_rate_plan(10_000_000) == ("Pro", 15.0)
    assert model.flat_rate_plan(2_600_000_000) == ("Premium", 6_000.0)
    assert model.flat_rate_plan(7_000_000_000) is None


def test_a_front_from_the_command_line() -> None:
    front = model.parse_front("edge=cloudfront_request+lambda_edge_request")
    assert front.key == "edge" and front.fees == ("cloudfront_request", "lambda_edge_request")
    assert front.cloudfront
    c = model.costs(direct_run(), front, QUIET)
    assert c["requests"] == pytest.approx(1.60)
    with pytest.raises(ValueError, match="--front edge: unknown fee 'cloudfrnt'"):
        model.parse_front("edge=cloudfrnt")
    with pytest.raises(ValueError, match="--front: NAME=FEE"):
        model.parse_front("edge")


def test_a_price_from_the_command_line() -> None:
    table = model.override_prices(prices.PRICES, ["cloudfront_request=1.20"])
    assert table["cloudfront_request"].usd == 1.20 and prices.PRICES["cloudfront_request"].usd == 1.00
    c = model.costs(direct_run(), REST, QUIET, table)
    assert c["requests"] == pytest.approx(1.20 + 3.50)
    with pytest.raises(ValueError, match="--price cloudfront: unknown price"):
        model.override_prices(prices.PRICES, ["cloudfront=1"])
    with pytest.raises(ValueError, match="--price cloudfront_request: a number of dollars"):
        model.override_prices(prices.PRICES, ["cloudfront_request=cheap"])
