# The account every mocked test plans in: region eu-west-1, account 123456789012, partition aws.
# Loaded by each test's `mock_provider "aws"` (`source = "./tests/mocks"`).

mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}

mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}
