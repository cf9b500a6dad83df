output "table_name" {
  description = "Name of the table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the table (its indexes are `<arn>/index/<name>`)."
  value       = aws_dynamodb_table.this.arn
}

output "hash_key" {
  description = "Name of the table's partition key."
  value       = aws_dynamodb_table.this.hash_key
}

output "range_key" {
  description = "Name of the table's sort key, or `null`."
  value       = aws_dynamodb_table.this.range_key
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key that encrypts the table, or `null` when the AWS-managed key is used."
  value       = local.kms_key_arn
}
