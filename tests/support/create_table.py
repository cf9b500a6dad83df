"""Creates a DynamoDB table with the production schema (schema/dynamodb-table.json) in an
emulator: `python tests/support/create_table.py ENDPOINT NAME`, or `create_table()` from
Python. Used by scripts/image-test and bench/bench.py (the Rust tests have their own, in
tests/support/moto.rs)."""

import json
import os
import sys

import boto3  # moto depends on it: it is in the project's .venv

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schema", "dynamodb-table.json")


def create_table(endpoint, name, region="eu-west-1"):
    with open(SCHEMA) as f:
        schema = json.load(f)
    keys = [(schema["hash_key"], "HASH"), (schema["range_key"], "RANGE")]
    boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k["name"], "AttributeType": k["type"]} for k, _ in keys],
        KeySchema=[{"AttributeName": k["name"], "KeyType": kind} for k, kind in keys],
    )


if __name__ == "__main__":
    create_table(sys.argv[1], sys.argv[2])
    print("table", sys.argv[2])
