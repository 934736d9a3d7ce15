"""AWS list prices that bench/cost.py multiplies its measured counts by: one dated table, us-east-1.

Each price names the page it was read from. AWS changes prices (DynamoDB's on-demand writes halved in
November 2024, Lambda's log ingestion became tiered in May 2025): check the pages before quoting a
figure, and change a price here, in one place, with the date. Free tiers are left out: the bench
prices what a stack pays once they are used up (docs/cost.md lists them).

"GB" is 2^30 bytes throughout, as AWS meters data; a "month" is 730 hours.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKED = "2026-12-06"
REGION = "us-east-1"
HOURS_PER_MONTH = 730

CLOUDFRONT = "https://aws.amazon.com/cloudfront/pricing/"
CLOUDFRONT_PLANS = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/flat-rate-pricing-plan.html"
API_GATEWAY = "https://aws.amazon.com/api-gateway/pricing/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
DATA_TRANSFER = "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer"
KINESIS = "https://aws.amazon.com/kinesis/data-streams/pricing/"
DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
WAF = "https://aws.amazon.com/waf/pricing/"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str  # the unit, as the pricing page states it
    source: str


PRICES: dict[str, Price] = {
    # Requests, per million. CloudFront's is the North American rate ($0.0100 per 10,000 HTTPS
    # requests, any method); Europe and Asia pay more per request (the page's table).
    "cloudfront_request": Price(1.00, "million HTTPS requests (United States, Mexico, Canada)", CLOUDFRONT),
    "apigw_rest_request": Price(3.50, "million REST API requests (first 333 million a month)", API_GATEWAY),
    "apigw_http_request": Price(1.00, "million HTTP API requests of up to 512 KB (first 300 million)", API_GATEWAY),
    "lambda_request": Price(0.20, "million Lambda requests (a function URL's invocations too)", LAMBDA),
    "lambda_edge_request": Price(0.60, "million Lambda@Edge requests", LAMBDA),
    "waf_request": Price(0.60, "million requests a web ACL processes", WAF),
    # Compute.
    "lambda_gb_s_arm64": Price(0.0000133334, "GB-second on arm64 (first 7.5 billion GB-s a month)", LAMBDA),
    "lambda_gb_s_x86_64": Price(0.0000166667, "GB-second on x86_64 (first 6 billion GB-s a month)", LAMBDA),
    "lambda_edge_gb_s": Price(0.00005001, "Lambda@Edge GB-second", LAMBDA),
    # Data transfer, per GB. Origin to CloudFront is free.
    "cloudfront_out_gb": Price(0.085, "GB from CloudFront to viewers (North America, first 10 TB)", CLOUDFRONT),
    "cloudfront_to_origin_gb": Price(0.020, "GB from CloudFront to the origin (request bodies, North America)",
                                     CLOUDFRONT),
    "internet_out_gb": Price(0.09, "GB from a region to the internet (a function URL's answers; first 10 TB)",
                             DATA_TRANSFER),
    # Kinesis Data Streams.
    "kinesis_stream_hour": Price(0.04, "on-demand stream-hour", KINESIS),
    "kinesis_in_gb": Price(0.08, "on-demand GB written, each record rounded up to 1 KB", KINESIS),
    "kinesis_out_gb": Price(0.04, "on-demand GB read", KINESIS),
    "kinesis_shard_hour": Price(0.015, "provisioned shard-hour", KINESIS),
    "kinesis_put_unit": Price(0.014, "million provisioned PUT payload units (25 KB of a record each)", KINESIS),
    # DynamoDB on-demand.
    "dynamodb_write_unit": Price(0.625, "million write request units", DYNAMODB),
    "dynamodb_read_unit": Price(0.125, "million read request units", DYNAMODB),
    "dynamodb_storage_gb_month": Price(0.25, "GB-month stored (Standard table class)", DYNAMODB),
    "dynamodb_pitr_gb_month": Price(0.20, "GB-month of point-in-time recovery", DYNAMODB),
    # CloudWatch. Lambda's logs are "vended logs": $0.50 for the first 10 TB a month, less beyond.
    "logs_standard_gb": Price(0.50, "GB ingested, Standard log class (Lambda's first 10 TB)", CLOUDWATCH),
    "logs_ia_gb": Price(0.25, "GB ingested, Infrequent Access log class (Lambda's first 10 TB)", CLOUDWATCH),
    "logs_storage_gb_month": Price(0.03, "GB-month archived (compressed)", CLOUDWATCH),
    "alarm_month": Price(0.10, "standard-resolution alarm metric, month", CLOUDWATCH),
    # Fixed monthly fees.
    "waf_web_acl_month": Price(5.00, "web ACL, month", WAF),
    "waf_rule_month": Price(1.00, "rule or rule group in a web ACL, month", WAF),
}

# CloudFront flat-rate plans (since November 2025): one distribution, a monthly price, no overage
# charges (traffic above the allowance may be slowed). They include AWS WAF, CloudFront's own logs
# and data transfer up to the allowance; requests AWS WAF blocks do not count.
# (name, usd a month, requests a month); Premium can be raised in steps up to 6 billion requests.
FLAT_RATE_PLANS: tuple[tuple[str, float, int], ...] = (
    ("Free", 0.0, 1_000_000),
    ("Pro", 15.0, 10_000_000),
    ("Business", 200.0, 125_000_000),
    ("Premium", 1_000.0, 500_000_000),
    ("Premium", 1_450.0, 750_000_000),
    ("Premium", 2_250.0, 1_250_000_000),
    ("Premium", 3_500.0, 2_000_000_000),
    ("Premium", 6_000.0, 3_500_000_000),
    ("Premium", 10_000.0, 6_000_000_000),
)
