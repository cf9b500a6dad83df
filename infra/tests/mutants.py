"""Mutation check of the terraform tests: break one rule at a time, the tests must fail.

Each mutant changes one line of a module in a temporary copy of infra/ and runs the test file that
guards that rule; a mutant that the tests do not catch is reported and makes the run fail.
Usage: python mutants.py INFRA_DIR WORK_DIR (the script scripts/mutants sets up both).
"""

import concurrent.futures
import os
import pathlib
import shutil
import subprocess
import sys

# (test file, module file, original text, mutated text, rule)
MUTANTS = [
    ("network", "modules/network/endpoints.tf",
     "route_table_ids   = aws_route_table.private[*].id\n\n  policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{\n      Sid       = \"ApplicationTableOnly\"",
     "route_table_ids   = [aws_route_table.private[0].id]\n\n  policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{\n      Sid       = \"ApplicationTableOnly\"",
     "DynamoDB endpoint on every private route table"),
    ("network", "modules/network/endpoints.tf",
     'Resource  = [var.dynamodb_table_arn, "${var.dynamodb_table_arn}/index/*"]',
     'Resource  = ["*"]',
     "endpoint policy limited to the table"),
    ("network", "modules/network/endpoints.tf",
     'StringEquals = { "aws:PrincipalAccount" = local.account_id }\n      }\n    }]\n  })\n\n  tags = merge(var.tags, { Name = "${var.name}-dynamodb" })',
     'StringEquals = { "aws:PrincipalAccount" = "*" }\n      }\n    }]\n  })\n\n  tags = merge(var.tags, { Name = "${var.name}-dynamodb" })',
     "endpoint policy limited to this account"),
    ("network", "modules/network/endpoints.tf",
     'StringEquals = { "aws:PrincipalAccount" = local.account_id }\n      }\n    }]\n  })\n\n  tags = merge(var.tags, { Name = "${var.name}-${replace',
     'StringEquals = { "aws:PrincipalAccount" = "*" }\n      }\n    }]\n  })\n\n  tags = merge(var.tags, { Name = "${var.name}-${replace',
     "interface endpoint policies limited to this account"),
    ("network", "modules/network/main.tf",
     "aws_nat_gateway.this[min(count.index, local.nat_count - 1)].id",
     "aws_nat_gateway.this[0].id",
     "one NAT gateway per AZ used by its own AZ"),
    ("network", "modules/network/main.tf",
     'nat_count = var.nat_mode == "one_per_az"',
     'nat_count = var.nat_mode == "single"',
     "NAT mode selects the NAT count"),
    ("network", "modules/network/main.tf",
     "  ingress = []\n  egress  = []\n",
     "  ingress = []\n  egress  = [{ description = \"all\", from_port = 0, to_port = 0, protocol = \"-1\", cidr_blocks = [\"0.0.0.0/0\"], ipv6_cidr_blocks = [], prefix_list_ids = [], security_groups = [], self = false }]\n",
     "default security group closed"),
    ("network", "modules/network/main.tf",
     "  map_public_ip_on_launch = false\n\n  tags = merge(var.tags, { Name = \"${var.name}-public",
     "  map_public_ip_on_launch = true\n\n  tags = merge(var.tags, { Name = \"${var.name}-public",
     "no public IP on launch"),
    ("network", "modules/network/endpoints.tf",
     'toset(["ecr.api", "ecr.dkr", "logs"])',
     'toset(["ecr.api", "logs"])',
     "ECR dkr endpoint without NAT"),
    ("network", "modules/network/flow_logs.tf",
     'resource "aws_flow_log" "this" {\n  count = var.enable_flow_logs ? 1 : 0',
     'resource "aws_flow_log" "this" {\n  count = 0',
     "flow logs by a variable"),
    ("load_balancer", "modules/load_balancer/main.tf",
     "drop_invalid_header_fields = true", "drop_invalid_header_fields = false",
     "drop invalid header fields"),
    ("load_balancer", "modules/load_balancer/main.tf",
     "internal                   = false", "internal                   = true",
     "internet-facing"),
    ("load_balancer", "modules/load_balancer/main.tf",
     "ssl_policy        = var.ssl_policy", 'ssl_policy        = "ELBSecurityPolicy-2016-08"',
     "TLS 1.2+/1.3 policy"),
    ("load_balancer", "modules/load_balancer/main.tf",
     'status_code = "HTTP_301"', 'status_code = "HTTP_302"',
     "permanent HTTP to HTTPS redirect"),
    ("load_balancer", "modules/load_balancer/main.tf",
     'type             = local.https ? "redirect" : "forward"', 'type             = "forward"',
     "HTTP redirects when HTTPS exists"),
    ("load_balancer", "modules/load_balancer/main.tf",
     'target_type          = "ip"', 'target_type          = "instance"',
     "target group type ip"),
    ("load_balancer", "modules/load_balancer/variables.tf",
     'default     = "/health"', 'default     = "/"',
     "health check on /health"),
    ("load_balancer", "modules/load_balancer/main.tf",
     "referenced_security_group_id = var.app_security_group_id", 'cidr_ipv4                    = "0.0.0.0/0"',
     "load balancer egress only to the tasks"),
    ("load_balancer", "modules/load_balancer/main.tf",
     "enable_deletion_protection = var.enable_deletion_protection", "enable_deletion_protection = true",
     "deletion protection by a variable"),
    ("service", "modules/service/main.tf",
     "readonlyRootFilesystem = true", "readonlyRootFilesystem = false",
     "read-only root filesystem"),
    ("service", "modules/service/main.tf",
     'user                   = "65532:65532"', 'user                   = "0"',
     "non-root user"),
    ("service", "modules/service/main.tf",
     'capabilities = { add = [], drop = ["ALL"] }', 'capabilities = { add = ["NET_ADMIN"], drop = ["ALL"] }',
     "no added capabilities"),
    ("service", "modules/service/main.tf",
     "stopTimeout            = var.stop_timeout", "stopTimeout            = 10",
     "stopTimeout above the app's shutdown bound"),
    ("service", "modules/service/main.tf",
     'command     = ["CMD", "/leave-calendar", "healthcheck"]', 'command     = ["CMD-SHELL", "curl -f localhost/health"]',
     "health check through the binary"),
    ("service", "modules/service/main.tf",
     'LOG_FORMAT            = "json"', 'LOG_FORMAT            = "text"',
     "environment contract"),
    ("service", "modules/service/main.tf",
     "assign_public_ip = false", "assign_public_ip = true",
     "no public IP on tasks"),
    ("service", "modules/service/main.tf",
     "rollback = true", "rollback = false",
     "circuit breaker with rollback"),
    ("service", "modules/service/main.tf",
     "deployment_minimum_healthy_percent = 100", "deployment_minimum_healthy_percent = 50",
     "minimum healthy 100%"),
    ("service", "modules/service/main.tf",
     "wait_for_steady_state              = var.wait_for_steady_state", "wait_for_steady_state              = false",
     "wait for steady state"),
    ("service", "modules/service/main.tf",
     "health_check_grace_period_seconds  = var.health_check_grace_period_seconds", "health_check_grace_period_seconds  = 0",
     "health-check grace period"),
    ("service", "modules/service/main.tf",
     "referenced_security_group_id = var.alb_security_group_id", 'cidr_ipv4                    = "10.0.0.0/8"',
     "only the load balancer reaches the tasks"),
    ("service", "modules/service/main.tf",
     "retention_in_days = var.log_retention_days", "retention_in_days = 0",
     "log retention"),
    ("service", "modules/service/autoscaling.tf",
     'predefined_metric_type = "ALBRequestCountPerTarget"', 'predefined_metric_type = "ECSServiceAverageMemoryUtilization"',
     "scaling on requests per target"),
    ("service", "modules/service/iam.tf",
     "Action   = var.dynamodb_actions", 'Action   = concat(var.dynamodb_actions, ["dynamodb:Scan"])',
     "exact DynamoDB actions, never Scan"),
    ("service", "modules/service/iam.tf",
     "Resource = local.table_resources", 'Resource = ["*"]',
     "task role on the table only"),
    ("service", "modules/service/iam.tf",
     "Resource = [var.image_repository_arn]", 'Resource = ["*"]',
     "execution role pulls from this repository only"),
    ("service", "modules/service/iam.tf",
     'Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]', 'Action   = ["logs:*"]',
     "no wildcard action"),
    ("data_and_registry", "modules/database/main.tf",
     "hash_key                    = var.schema.hash_key.name", 'hash_key                    = "leave_id"',
     "hash key from the schema file"),
    ("data_and_registry", "modules/database/main.tf",
     "enabled = var.enable_point_in_time_recovery", "enabled = false",
     "point-in-time recovery"),
    ("data_and_registry", "modules/database/main.tf",
     "deletion_protection_enabled = var.enable_deletion_protection", "deletion_protection_enabled = false",
     "table deletion protection"),
    ("data_and_registry", "modules/database/main.tf",
     "enable_key_rotation     = true", "enable_key_rotation     = false",
     "customer key rotated"),
    ("data_and_registry", "modules/registry/main.tf",
     'image_tag_mutability = "IMMUTABLE"', 'image_tag_mutability = "MUTABLE"',
     "immutable tags"),
    ("data_and_registry", "modules/registry/main.tf",
     "scan_on_push = true", "scan_on_push = false",
     "scan on push"),
    ("data_and_registry", "modules/registry/main.tf",
     "countNumber = var.keep_images", "countNumber = 100",
     "keep the last N images"),
    ("root", "main.tf",
     'table_schema = jsondecode(file("${path.module}/../schema/dynamodb-table.json"))',
     'table_schema = { hash_key = { name = "id", type = "S" } }',
     "root reads the schema file"),
    ("service", "modules/service/main.tf",
     "condition     = self.task_definition == aws_ecs_task_definition.this.arn",
     'condition     = self.task_definition != ""',
     "a rolled-back deployment fails the apply"),
    ("load_balancer", "modules/load_balancer/main.tf",
     'name                 = "${var.name}-${var.app_port}"', 'name                 = "${var.name}-app"',
     "target group named after its port"),
    ("load_balancer", "modules/load_balancer/variables.tf",
     "[0-9]{12}:regional/webacl/", "[0-9]{12}:[a-z]+/webacl/",
     "regional web ACLs only"),
    ("network", "modules/network/variables.tf",
     "(1[6-9]|2[0-3])$", "(1[6-9]|2[0-4])$",
     "subnets big enough for a load balancer"),
    ("github_oidc", "modules/github_oidc/main.tf",
     '"kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" }\n          Bool', '"kms:ViaService" = "*" }\n          Bool',
     "key grants through DynamoDB only"),
    ("github_oidc", "modules/github_oidc/main.tf",
     'Action   = ["route53:AssociateVPCWithHostedZone"]', 'Action   = ["route53:ChangeResourceRecordSets"]',
     "on Route 53, only joining the endpoints' private DNS zones"),
    ("github_oidc", "modules/github_oidc/main.tf",
     "Action   = local.role_read_actions\n        Resource = local.stack_roles\n",
     "Action   = local.role_read_actions\n        Resource = local.stack_roles\n        Condition = local.in_region\n",
     "IAM reads not limited to a region (IAM is in us-east-1)"),
    ("github_oidc", "modules/github_oidc/main.tf",
     "Resource  = local.stack_roles\n        Condition = { StringEquals = { \"iam:PermissionsBoundary\" = aws_iam_policy.role_boundary.arn } }",
     "Resource  = local.stack_roles",
     "roles created and changed only with the permissions boundary"),
    ("github_oidc", "modules/github_oidc/main.tf",
     '"iam:UpdateAssumeRolePolicy",\n', '"iam:UpdateAssumeRolePolicy",\n          "iam:DeleteRolePermissionsBoundary",\n',
     "the boundary is never lifted"),
    ("github_oidc", "modules/github_oidc/main.tf",
     'Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]', 'Action   = ["logs:*"]',
     "no wildcard action in the boundary"),
    ("service", "modules/github_oidc/main.tf",
     '"dynamodb:PutItem",\n    "dynamodb:Query",\n', '"dynamodb:PutItem",\n',
     "the boundary allows all the task role is given"),
    ("network", "modules/github_oidc/main.tf",
     '"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"', '"logs:CreateLogStream", "logs:PutLogEvents"',
     "the boundary allows all the flow-log role is given"),
    ("service", "modules/service/main.tf",
     "task_role_arn            = aws_iam_role.task.arn", "task_role_arn            = aws_iam_role.execution.arn",
     "the application runs with the task role, not the execution role"),
    ("service", "modules/service/iam.tf",
     'its DynamoDB table only"\n  assume_role_policy   = local.ecs_tasks_trust\n  permissions_boundary = var.role_permissions_boundary',
     'its DynamoDB table only"\n  assume_role_policy   = local.ecs_tasks_trust\n  permissions_boundary = null',
     "task role carries the boundary"),
    ("service", "modules/service/iam.tf",
     '"kms:GenerateDataKey"]', '"kms:GenerateDataKey*"]',
     "task role's key actions named"),
    ("service", "modules/service/main.tf",
     "skip_destroy = true", "skip_destroy = false",
     "earlier task definitions kept for a rollback"),
    ("network", "modules/network/flow_logs.tf",
     "permissions_boundary = var.role_permissions_boundary", "permissions_boundary = null",
     "flow-log role carries the boundary"),
    ("network", "modules/network/flow_logs.tf",
     'Resource = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]', 'Resource = ["*"]',
     "flow-log role lists only this account's log groups of the region"),
    ("data_and_registry", "modules/database/main.tf",
     '"kms:ReEncryptFrom",\n          "kms:ReEncryptTo",', '"kms:ReEncrypt*",',
     "key policy actions named"),
    ("data_and_registry", "modules/database/main.tf",
     'replace(var.table_name, ".", "-")', "var.table_name",
     "key alias without the table name's dots"),
    ("monitoring", "modules/monitoring/main.tf",
     'treat_missing_data  = "breaching"', 'treat_missing_data  = "notBreaching"',
     "no running-task data at all counts as breaching"),
    ("monitoring", "modules/monitoring/main.tf",
     'comparison_operator = "LessThanThreshold"', 'comparison_operator = "LessThanOrEqualToThreshold"',
     "running tasks alarm below the minimum, not at it"),
    ("monitoring", "modules/monitoring/main.tf",
     'extended_statistic = "p99"', 'extended_statistic = "p90"',
     "latency alarm on p99"),
    ("monitoring", "modules/monitoring/main.tf",
     'evaluate_low_sample_count_percentiles = "evaluate"', 'evaluate_low_sample_count_percentiles = "ignore"',
     "latency evaluated at low traffic"),
    ("monitoring", "modules/monitoring/main.tf",
     'metric_name = "HTTPCode_Target_5XX_Count"\n  dimensions  = local.alb_target_group',
     'metric_name = "HTTPCode_Target_5XX_Count"\n  dimensions  = local.alb',
     "target 5xx of the application's target group"),
    ("monitoring", "modules/monitoring/main.tf",
     "    TargetGroup  = var.target_group_arn_suffix", "    TargetGroup  = var.alb_arn_suffix",
     "target group dimension from the target group"),
    ("monitoring", "modules/monitoring/main.tf",
     'metric_name = "UnHealthyHostCount"', 'metric_name = "HealthyHostCount"',
     "alarm on unhealthy targets"),
    ("monitoring", "modules/monitoring/main.tf",
     "evaluation_periods  = var.unhealthy_minutes", "evaluation_periods  = 1",
     "unhealthy for several consecutive minutes"),
    ("monitoring", "modules/monitoring/main.tf",
     "actions = var.alarm_actions", "actions = slice(var.alarm_actions, 0, min(1, length(var.alarm_actions)))",
     "alarms notify every topic of alarm_actions"),
    ("monitoring", "modules/monitoring/main.tf",
     "dimensions  = merge(local.table, { Operation = metric_query.value })", "dimensions  = local.table",
     "system errors per operation of the table"),
    ("monitoring", "modules/monitoring/main.tf",
     'expression  = "SUM(METRICS())"', 'expression  = "MAX(METRICS())"',
     "system errors of all operations added up"),
    ("monitoring", "modules/monitoring/main.tf",
     'pattern        = "{ $.level = \\"ERROR\\" }"', 'pattern        = "ERROR"',
     "error lines by their JSON level"),
    ("root", "main.tf",
     "alarm_actions                 = var.alarm_actions", "alarm_actions                 = []",
     "root passes alarm_actions to the alarms"),
    ("root", "main.tf",
     "target_group_arn_suffix       = module.load_balancer.target_group_arn_suffix",
     "target_group_arn_suffix       = module.load_balancer.arn_suffix",
     "alarms watch the stack's target group"),
    ("github_oidc", "modules/github_oidc/main.tf",
     'Resource = "${local.arn.alarm}:alarm:${local.name}-*"', 'Resource = "${local.arn.alarm}:alarm:*"',
     "deploy role manages only the stack's alarms"),
    ("github_oidc", "modules/github_oidc/main.tf",
     'Action   = ["logs:DeleteMetricFilter", "logs:PutMetricFilter"]\n        Resource = ["${local.arn.logs}:log-group:/ecs/${local.name}", "${local.arn.logs}:log-group:/ecs/${local.name}:*"]',
     'Action   = ["logs:DeleteMetricFilter", "logs:PutMetricFilter"]\n        Resource = ["${local.arn.logs}:log-group:*"]',
     "metric filters on the application's log group only"),
    ("github_oidc", "modules/github_oidc/main.tf",
     '    "logs:DescribeMetricFilters",\n', "",
     "both roles can refresh the metric filter"),
]


def run_tests(copy: pathlib.Path, test: str) -> bool:
    result = subprocess.run(
        ["terraform", "test", "-no-color", f"-filter=tests/{test}.tftest.hcl"],
        cwd=copy, env={**os.environ, "TF_DATA_DIR": str(copy / ".terraform")},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )
    return result.returncode == 0


def worker_copy(infra: pathlib.Path, work: pathlib.Path, n: int) -> pathlib.Path:
    """A copy of infra/ of its own for each worker, next to the copy of schema/."""
    copy = work / f"infra-{n}"
    shutil.copytree(infra, copy, ignore=shutil.ignore_patterns(".terraform"))
    subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-lockfile=readonly", "-no-color"],
        cwd=copy, env={**os.environ, "TF_DATA_DIR": str(copy / ".terraform")},
        stdout=subprocess.DEVNULL, check=True,
    )
    return copy


def try_mutant(copy: pathlib.Path, mutant: tuple[str, str, str, str, str]) -> tuple[str, bool]:
    test, path, original, mutated, rule = mutant
    target = copy / path
    text = target.read_text()
    if text.count(original) != 1:
        return f"BROKEN   {rule}: text not found exactly once in {path}", False
    target.write_text(text.replace(original, mutated))
    try:
        caught = not run_tests(copy, test)
    finally:
        target.write_text(text)
    return f"{'caught  ' if caught else 'SURVIVED'} {rule}  ({path}, tests/{test}.tftest.hcl)", caught


def main(infra: pathlib.Path, work: pathlib.Path) -> int:
    workers = max(2, min(4, os.cpu_count() or 2))
    copies = [worker_copy(infra, work, n) for n in range(workers)]
    batches = [MUTANTS[n::workers] for n in range(workers)]

    def run_batch(n: int) -> list[tuple[str, bool]]:
        return [try_mutant(copies[n], m) for m in batches[n]]

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = [r for batch in pool.map(run_batch, range(workers)) for r in batch]
    for line, _ in results:
        print(line)
    caught = sum(1 for _, ok in results if ok)
    print(f"\n{caught} of {len(MUTANTS)} mutants caught ({workers} workers)")
    return 0 if caught == len(MUTANTS) else 1


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
