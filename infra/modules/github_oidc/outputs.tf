output "deploy_role_arn" {
  description = "ARN of the role the deploy workflow assumes (the repository variable `AWS_DEPLOY_ROLE_ARN`)."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "ARN of the read-only role pull requests assume to show the plan (`AWS_PLAN_ROLE_ARN`), or `null`."
  value       = one(aws_iam_role.plan[*].arn)
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC identity provider the roles trust."
  value       = local.oidc_provider_arn
}

output "role_permissions_boundary_arn" {
  description = "ARN of the permissions boundary the deploy role requires on every role it creates: set the stack's `role_permissions_boundary` to it in a committed file (e.g. infra/boundary.auto.tfvars), or the deploy's CreateRole is denied."
  value       = aws_iam_policy.role_boundary.arn
}

output "role_permissions_boundary_policy" {
  description = "The boundary's policy document (JSON): the most the stack's roles may ever do."
  value       = aws_iam_policy.role_boundary.policy
}
