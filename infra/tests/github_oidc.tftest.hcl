# Rules of the optional GitHub OIDC module (deploy from GitHub Actions without long-lived keys),
# in plan mode against a mocked provider: who may assume each role, and that each role can do
# only what a deployment (or a pull request's plan) needs.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan

  # Another account than the caller's, so that only the created provider's ARN can match.
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }
  }
  override_resource {
    target = aws_iam_policy.read
    values = { arn = "arn:aws:iam::123456789012:policy/github-read-leave-calendar" }
  }
  override_resource {
    target = aws_iam_policy.monitoring
    values = { arn = "arn:aws:iam::123456789012:policy/github-deploy-leave-calendar-monitoring" }
  }
  override_resource {
    target = aws_iam_policy.role_boundary
    values = { arn = "arn:aws:iam::123456789012:policy/github-deploy-leave-calendar-role-boundary" }
  }
}

variables {
  github_repository = "acme/leave-calendar"
  state_bucket      = "acme-terraform-state"
}

run "only_the_production_environment_deploys_and_only_pull_requests_plan" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition = jsondecode(aws_iam_role.deploy.assume_role_policy).Statement[0].Condition.StringEquals == {
      "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
      "token.actions.githubusercontent.com:sub" = ["repo:acme/leave-calendar:environment:production"]
    }
    error_message = "The deploy role must trust exactly the repository's production environment (ci.yml's deploy job), with GitHub's audience."
  }

  assert {
    condition     = jsondecode(aws_iam_role.plan[0].assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/leave-calendar:pull_request"]
    error_message = "The plan role must trust exactly the repository's pull requests."
  }

  assert {
    condition     = jsondecode(aws_iam_role.deploy.assume_role_policy).Statement[0].Principal.Federated == aws_iam_openid_connect_provider.github[0].arn
    error_message = "The roles must trust GitHub's OIDC identity provider, and only it."
  }

  assert {
    condition     = !startswith(aws_iam_role.deploy.name, "leave-calendar-")
    error_message = "The deploy role may manage the stack's roles (leave-calendar-*), so its own name must not match: it could widen its own permissions."
  }

  assert {
    condition     = aws_iam_role.deploy.max_session_duration == 3600
    error_message = "Sessions last an hour by default."
  }
}

# The deploy role's rules hold for all it may do: its inline policy and the reads it shares.
run "deploy_permissions_are_explicit_and_scoped" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition     = aws_iam_role_policy_attachment.deploy_read.role == aws_iam_role.deploy.name && aws_iam_role_policy_attachment.deploy_read.policy_arn == aws_iam_policy.read.arn
    error_message = "The deploy role must have the reads that refresh the stack."
  }

  # Statements whose resource is `*`: only actions AWS offers no resource-level permission for.
  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) : s.Resource != "*" || alltrue([
        for a in s.Action : contains([
          "sts:GetCallerIdentity", "ecr:GetAuthorizationToken", "kms:CreateKey",
          "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition",
        ], a) || can(regex(":(Describe|List|Get)[A-Za-z]*$", a))
      ])
    ])
    error_message = "Only reads and actions without resource-level permissions may have the resource `*`."
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) :
      s.Resource != "*" || s.Sid == "WhoAmI" || s.Sid == "LogInToTheRegistry" || try(s.Condition.StringEquals["aws:RequestedRegion"] == "eu-west-1", false)
    ])
    error_message = "Every other statement with the resource `*` must be limited to the stack's region."
  }

  assert {
    condition = alltrue(flatten([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) : [for a in s.Action : !strcontains(a, "*")]
    ]))
    error_message = "No wildcard in any action: every action is named."
  }

  assert {
    condition = alltrue(flatten([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) : [
        for r in flatten([s.Resource]) : r == "*" || startswith(r, "arn:aws:s3:::acme-terraform-state") || strcontains(r, ":123456789012:") || strcontains(r, ":eu-west-1:aws:prefix-list/") || (s.Sid == "PrivateDnsOfTheEndpoints" && s.Action == ["route53:AssociateVPCWithHostedZone"])
      ]
    ]))
    error_message = "Every resource must be in this account (or the state bucket), but for the AWS-owned zones of the endpoints' private DNS, joined only."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      s.Action == ["route53:AssociateVPCWithHostedZone"] && s.Resource == "arn:aws:route53:::hostedzone/*"
    ])
    error_message = "Interface endpoints with private DNS need route53:AssociateVPCWithHostedZone, and only that on Route 53."
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) :
      !contains(s.Action, "iam:PassRole") || try(
        s.Resource == "arn:aws:iam::123456789012:role/leave-calendar/*" &&
        s.Condition.StringEquals["iam:PassedToService"] == ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"],
        false
      )
    ])
    error_message = "iam:PassRole must be limited to the stack's roles, passed to ECS tasks and flow logs only."
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) :
      !anytrue([for a in s.Action : startswith(a, "iam:") && a != "iam:PassRole" && a != "iam:CreateServiceLinkedRole" && !startswith(a, "iam:Get") && !startswith(a, "iam:List")]) ||
      s.Resource == "arn:aws:iam::123456789012:role/leave-calendar/*" ||
      (s.Resource == "arn:aws:iam::123456789012:role/leave-calendar-*" && contains([["iam:DeleteRole"], ["iam:DeleteRolePolicy"]], s.Action))
    ])
    error_message = "The deploy role may change only the stack's own roles, under the stack's IAM path; of the roles named like the stack elsewhere (before the path), it may only delete them and their inline policies."
  }

  assert {
    condition = contains([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s.Resource if s.Sid == "PushAndManageTheRepository"
    ], "arn:aws:ecr:eu-west-1:123456789012:repository/leave-calendar")
    error_message = "Pushing is allowed to the stack's repository only."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      contains(s.Action, "kms:CreateGrant") && try(s.Condition.StringEquals["kms:ViaService"] == "dynamodb.eu-west-1.amazonaws.com" && s.Condition.Bool["kms:GrantIsForAWSResource"] == "true", false)
      ]) && anytrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      contains(s.Action, "kms:CreateGrant") && try(s.Condition.StringEquals["kms:ViaService"] == "ecr.eu-west-1.amazonaws.com" && s.Condition.Bool["kms:GrantIsForAWSResource"] == "true", false)
      ]) && alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !contains(s.Action, "kms:CreateGrant") || try(
        contains(["dynamodb.eu-west-1.amazonaws.com", "ecr.eu-west-1.amazonaws.com"], s.Condition.StringEquals["kms:ViaService"])
        && s.Condition.Bool["kms:GrantIsForAWSResource"] == "true",
        false
      )
    ])
    error_message = "A table or a repository with a customer key needs kms:CreateGrant, for DynamoDB or ECR only, and only for their resources."
  }

  assert {
    condition = length([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s if contains(s.Action, "wafv2:AssociateWebACL") && contains(s.Action, "wafv2:DisassociateWebACL") && contains(flatten([s.Resource]), "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/*/*")
    ]) == 1
    error_message = "The optional web ACL must be attachable to the load balancer."
  }

  assert {
    condition = contains([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s.Resource if s.Sid == "WriteStateAndLock"
    ], "arn:aws:s3:::acme-terraform-state/leave-calendar/*")
    error_message = "The deploy role must write the state and its lock file, under the state's prefix only."
  }
}

# IAM is global: its requests go to us-east-1 whatever the stack's region, so an
# aws:RequestedRegion condition of eu-west-1 would deny every IAM read (and plans would fail).
run "iam_reads_are_scoped_to_the_stacks_roles_not_to_a_region" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) :
      !anytrue([for a in s.Action : startswith(a, "iam:")]) || try(s.Condition["StringEquals"]["aws:RequestedRegion"], null) == null
    ])
    error_message = "No statement with an IAM action may be limited by aws:RequestedRegion: IAM requests are always made in us-east-1."
  }

  assert {
    condition = alltrue([
      for policy in [aws_iam_policy.read.policy] : anytrue([
        for s in jsondecode(policy).Statement :
        toset(s.Action) == toset(["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies"]) &&
        s.Resource == ["arn:aws:iam::123456789012:role/leave-calendar/*", "arn:aws:iam::123456789012:role/leave-calendar-*"] && try(s.Condition, null) == null
      ])
    ])
    error_message = "The roles' shared reads must include the stack's roles (to refresh them), on those roles only, in a statement without condition."
  }

  assert {
    condition = alltrue(flatten([
      for policy in [aws_iam_role_policy.deploy.policy, aws_iam_policy.read.policy] : [
        for s in jsondecode(policy).Statement : [
          for a in s.Action : s.Resource == ["arn:aws:iam::123456789012:role/leave-calendar/*", "arn:aws:iam::123456789012:role/leave-calendar-*"] if startswith(a, "iam:Get") || startswith(a, "iam:List")
        ]
      ]
    ]))
    error_message = "IAM reads must be limited to the stack's roles."
  }
}

# The deploy role may create roles and write their inline policies, so without a boundary it
# could create a role allowed anything: every role-writing action requires the boundary.
run "roles_are_created_only_within_the_boundary" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !anytrue([for a in s.Action : contains([
        "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
        "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
      ], a)]) || try(s.Condition.StringEquals["iam:PermissionsBoundary"] == aws_iam_policy.role_boundary.arn, false)
    ])
    error_message = "Creating a role and writing or attaching its policies must require the stack's permissions boundary (iam:PermissionsBoundary)."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      contains(s.Action, "iam:CreateRole") && contains(s.Action, "iam:PutRolePolicy") && s.Resource == "arn:aws:iam::123456789012:role/leave-calendar/*"
    ])
    error_message = "The deploy role must still create the stack's roles and write their policies."
  }

  # Every IAM action the deploy role has, reviewed: no DeleteRolePermissionsBoundary (it would
  # lift the boundary), nothing on managed policies (it could edit the boundary or attach another).
  assert {
    condition = toset(flatten([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) : [for a in s.Action : a if startswith(a, "iam:")]
      ])) == toset([
      "iam:CreateRole", "iam:CreateServiceLinkedRole", "iam:DeleteRole", "iam:DeleteRolePolicy",
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies", "iam:PassRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
      "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    ])
    error_message = "The deploy role's IAM actions must be exactly the reviewed list: never iam:DeleteRolePermissionsBoundary, nor any action on managed policies."
  }

  assert {
    condition     = output.role_permissions_boundary_arn == aws_iam_policy.role_boundary.arn && !startswith(aws_iam_policy.role_boundary.name, "leave-calendar-")
    error_message = "The boundary's ARN must be output (the stack's role_permissions_boundary), and its name must not look like one of the stack's resources."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_policy.role_boundary.policy).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")]
    ]))
    error_message = "The boundary must name every action: no wildcard."
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_policy.role_boundary.policy).Statement : [
        for r in flatten([s.Resource]) : s.Effect == "Allow" && (
          (strcontains(r, ":eu-west-1:123456789012:") && strcontains(r, "leave-calendar")) ||
          (r == "*" && s.Action == ["ecr:GetAuthorizationToken"]) ||
          (r == "arn:aws:logs:eu-west-1:123456789012:log-group:*" && s.Action == ["logs:DescribeLogGroups"]) ||
          (r == "arn:aws:kms:eu-west-1:123456789012:key/*" && alltrue([for a in s.Action : startswith(a, "kms:")]) && try(s.Condition.StringEquals["kms:ViaService"] == "dynamodb.eu-west-1.amazonaws.com", false))
        )
      ]
    ]))
    error_message = "The boundary may allow only the stack's resources in its account and region; the exceptions (registry login, finding the log group, the table's key through DynamoDB) only for those actions."
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_policy.role_boundary.policy).Statement : s.Action])) == toset([
      "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
      "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
      "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
      "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:DescribeLogGroups",
    ])
    error_message = "The boundary must allow exactly the actions the stack's roles are given (table items, its key, image pulls, log writes), never Scan nor any IAM action."
  }
}

# modules/monitoring: the deploy role manages the stack's alarms and the application's error
# metric filter by name, and nothing else of CloudWatch; both roles can refresh them.
run "alarms_and_the_error_metric_filter_are_managed_by_name" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_policy.monitoring.policy).Statement :
      toset(s.Action) == toset(["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"]) &&
      s.Resource == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:leave-calendar-*" && try(s.Condition, null) == null
    ])
    error_message = "The deploy role must create, tag and delete the stack's alarms (leave-calendar-*)."
  }

  assert {
    condition = alltrue(flatten([
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) : [
        for r in flatten([s.Resource]) : startswith(r, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:leave-calendar-") || startswith(r, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:TargetTracking-service/leave-calendar/leave-calendar-") || r == "arn:aws:cloudwatch::123456789012:dashboard/leave-calendar"
      ] if anytrue([for a in s.Action : startswith(a, "cloudwatch:") && !can(regex(":(Describe|List|Get)[A-Za-z]*$", a))])
    ]))
    error_message = "CloudWatch changes must be limited to the stack's alarms, its target tracking alarms and its dashboard."
  }

  assert {
    condition = [
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement) : [toset(s.Action), toset(flatten([s.Resource]))]
      if anytrue([for a in s.Action : strcontains(a, "MetricFilter")])
      ] == [[
        toset(["logs:DeleteMetricFilter", "logs:PutMetricFilter"]),
        toset(["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/leave-calendar", "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/leave-calendar:*"]),
    ]]
    error_message = "Metric filters may be written and deleted on the application's log group only."
  }

  assert {
    condition = length(setsubtract(
      ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource", "logs:DescribeMetricFilters"],
      flatten([for s in jsondecode(aws_iam_policy.read.policy).Statement : s.Action])
    )) == 0
    error_message = "The shared reads (deploy and plan roles) must refresh the alarms, their tags, the dashboard and the metric filter."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_policy.monitoring.policy).Statement :
      toset(s.Action) == toset(["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"]) &&
      s.Resource == "arn:aws:cloudwatch::123456789012:dashboard/leave-calendar" && try(s.Condition, null) == null
    ])
    error_message = "The deploy role must create and delete the stack's dashboard (leave-calendar), and no other."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.deploy_monitoring.role == aws_iam_role.deploy.name && aws_iam_role_policy_attachment.deploy_monitoring.policy_arn == aws_iam_policy.monitoring.arn
    error_message = "The deploy role must have the monitoring policy."
  }
}

# modules/monitoring's EventBridge rule. A rule of the default bus can match any event of the
# account and send it anywhere: the deploy role's may match ECS's deployment and service events
# only, and send them to SNS topics of this account and region only.
run "the_event_rule_matches_ecs_service_events_and_notifies_the_accounts_topics" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition = [
      for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement) :
      [s.Action, s.Resource, try(s.Condition, null)] if anytrue([for a in s.Action : startswith(a, "events:")])
      ] == [
      [["events:DeleteRule", "events:RemoveTargets", "events:TagResource", "events:UntagResource"], "arn:aws:events:eu-west-1:123456789012:rule/leave-calendar-service-events", null],
      [["events:PutRule"], "arn:aws:events:eu-west-1:123456789012:rule/leave-calendar-service-events", {
        "ForAllValues:StringEquals" = {
          "events:source"      = ["aws.ecs"]
          "events:detail-type" = ["ECS Deployment State Change", "ECS Service Action"]
        }
        Null = { "events:source" = "false", "events:detail-type" = "false" }
      }],
      [["events:PutTargets"], "arn:aws:events:eu-west-1:123456789012:rule/leave-calendar-service-events", {
        "ForAllValues:ArnLike" = { "events:TargetArn" = ["arn:aws:sns:eu-west-1:123456789012:*"] }
        Null                   = { "events:TargetArn" = "false" }
      }],
    ]
    error_message = "The deploy role may change the stack's rule (leave-calendar-service-events) only, put it only for ECS's deployment and service events, and targets only to SNS topics of the account and region."
  }

  assert {
    condition = length(setsubtract(
      ["events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"],
      flatten([for s in jsondecode(aws_iam_policy.read.policy).Statement : s.Action])
    )) == 0
    error_message = "The shared reads must refresh the rule, its tags and its targets."
  }
}

# The table's customer key (create_table_kms_key): DynamoDB uses it with the deploy role's own
# permissions, and a key's ARN is known only once it exists, so the stack's keys are told by
# their tag Application = <stack_name>.
run "the_table_key_is_used_through_dynamodb_and_keys_are_told_by_their_tag" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  # What AWS documents for the principal that creates a table with a customer key: Encrypt,
  # Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey and CreateGrant (DescribeKey is a read).
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      length(setsubtract(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"], s.Action)) == 0 &&
      s.Resource == "arn:aws:kms:eu-west-1:123456789012:key/*" && try(s.Condition.StringEquals["kms:ViaService"] == "dynamodb.eu-west-1.amazonaws.com", false)
    ]) && contains(flatten([for s in jsondecode(aws_iam_policy.read.policy).Statement : s.Action]), "kms:DescribeKey")
    error_message = "Creating a table with a customer key needs kms:Encrypt, Decrypt, ReEncryptFrom/To, GenerateDataKey(WithoutPlaintext) and DescribeKey on the key, through DynamoDB."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !anytrue([for a in s.Action : can(regex("^kms:(Decrypt|Encrypt|GenerateDataKey|ReEncrypt)", a))]) ||
      try(s.Condition.StringEquals["kms:ViaService"] == "dynamodb.eu-west-1.amazonaws.com", false)
    ])
    error_message = "The deploy role may use a key only through DynamoDB of the stack's region, never directly."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : [for a in s.Action : a if startswith(a, "kms:")]
      ])) == toset([
      "kms:CreateAlias", "kms:CreateGrant", "kms:CreateKey", "kms:Decrypt", "kms:DeleteAlias",
      "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
      "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo",
      "kms:TagResource", "kms:UntagResource",
    ])
    error_message = "The deploy role's KMS actions must be exactly the reviewed list."
  }

  assert {
    condition = length([for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s if contains(s.Action, "kms:CreateKey")]) == 1 && alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !contains(s.Action, "kms:CreateKey") || try(s.Condition.StringEquals["aws:RequestTag/Application"] == "leave-calendar" && s.Condition.StringEquals["aws:RequestedRegion"] == "eu-west-1", false)
    ])
    error_message = "kms:CreateKey must require the stack's tag Application = <stack_name> in the request, in the stack's region."
  }

  # Every other statement on the account's keys names the stack's tag, or goes through DynamoDB or ECR.
  assert {
    condition = length([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s if contains(flatten([s.Resource]), "arn:aws:kms:eu-west-1:123456789012:key/*")
      ]) >= 3 && alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !contains(flatten([s.Resource]), "arn:aws:kms:eu-west-1:123456789012:key/*") ||
      try(contains(["dynamodb.eu-west-1.amazonaws.com", "ecr.eu-west-1.amazonaws.com"], s.Condition.StringEquals["kms:ViaService"]), false) ||
      try(s.Condition.StringEquals["aws:ResourceTag/Application"] == "leave-calendar", false) ||
      try(s.Condition.StringEqualsIfExists["aws:ResourceTag/Application"] == "leave-calendar", false)
    ])
    error_message = "Every statement on the account's keys must be limited by the stack's tag (aws:ResourceTag/Application) or to DynamoDB's or ECR's use of the key."
  }

  # Moving aliases away and untagging happen long after a key is created, when its tag counts
  # for authorisation: they require it.
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s.Action
      if contains(flatten([s.Resource]), "arn:aws:kms:eu-west-1:123456789012:key/*") && try(s.Condition.StringEquals["aws:ResourceTag/Application"] == "leave-calendar", false)
      ])) == toset(["kms:DeleteAlias", "kms:UntagResource"]) && alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !anytrue([for a in s.Action : contains(["kms:ScheduleKeyDeletion", "kms:UntagResource"], a)]) ||
      try(s.Condition.StringEquals["aws:ResourceTag/Application"] == "leave-calendar", false)
    ])
    error_message = "kms:UntagResource and DeleteAlias (on the key) must require the stack's tag on the key."
  }

  # What would destroy the bookings, make them unreadable, or remove the logs is an
  # administrator's to do, not the deploying workflow's.
  assert {
    condition = length(setintersection(
      toset(flatten([for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s.Action])),
      toset(["dynamodb:DeleteTable", "dynamodb:DeleteBackup", "kms:ScheduleKeyDeletion", "kms:DisableKey", "logs:DeleteLogGroup", "logs:DeleteLogStream"]),
    )) == 0
    error_message = "The deploy role must not delete the table, its backups, its key or the log groups."
  }

  assert {
    condition = length([for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s if contains(s.Action, "kms:UntagResource")]) == 1 && alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !contains(s.Action, "kms:UntagResource") || try(contains(s.Condition["ForAllValues:StringNotEquals"]["aws:TagKeys"], "Application"), false)
    ])
    error_message = "kms:UntagResource must never remove the Application tag."
  }

  # The actions of a key's creation cannot require a tag that may not count yet; they refuse a key
  # of another application, and setting Application to another name.
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !anytrue([for a in s.Action : contains(["kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:TagResource"], a)]) ||
      try(s.Condition.StringEqualsIfExists == { "aws:ResourceTag/Application" = "leave-calendar", "aws:RequestTag/Application" = "leave-calendar" }, false)
    ]) && length([for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement : s if contains(s.Action, "kms:TagResource")]) == 1
    error_message = "kms:EnableKeyRotation, PutKeyPolicy and TagResource must refuse keys tagged for another application and a request setting Application to another name."
  }

  # An alias has no tags: its own statement, on the stack's aliases only; on the key, CreateAlias
  # and DeleteAlias are in the tag-limited statements above.
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      !anytrue([for r in flatten([s.Resource]) : strcontains(r, ":alias/")]) ||
      (flatten([s.Resource]) == ["arn:aws:kms:eu-west-1:123456789012:alias/dynamodb-leave-calendar-*"] && toset(s.Action) == toset(["kms:CreateAlias", "kms:DeleteAlias"]))
      ]) && anytrue([
      for s in jsondecode(aws_iam_role_policy.deploy.policy).Statement :
      contains(flatten([s.Resource]), "arn:aws:kms:eu-west-1:123456789012:alias/dynamodb-leave-calendar-*")
    ])
    error_message = "Aliases may be created and deleted under alias/dynamodb-<stack_name>- only, in a statement of their own."
  }
}

run "the_plan_role_only_reads" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_policy.read.policy).Statement : [
        for a in s.Action : can(regex(":(Describe|List|Get)[A-Za-z]*$", a))
      ]
    ]))
    error_message = "The pull-request role may only describe, list and get."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.plan_read[0].role == aws_iam_role.plan[0].name && aws_iam_role_policy_attachment.plan_read[0].policy_arn == aws_iam_policy.read.arn
    error_message = "The pull-request role must have the shared reads, and (having no inline policy) nothing else."
  }
}

# IAM refuses a role whose inline policies exceed 10,240 characters together, and a managed
# policy over 6,144: the worst case is the longest stack name, a long bucket and prefix, in the
# partition with the longest name.
run "policies_fit_iams_size_limits" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  variables {
    stack_name       = "abcdefghijklmnopqrstuvwx"
    state_bucket     = "acme-terraform-state-abcdefghijklmnopqrstuvwxyz0123456789abcdefg"
    state_key_prefix = "abcdefghijklmnopqrstuvwx/production/"
  }

  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-us-gov" }
  }

  assert {
    condition     = length(aws_iam_role_policy.deploy.policy) <= 10240
    error_message = "The deploy role's inline policy must stay within IAM's 10,240 characters (${length(aws_iam_role_policy.deploy.policy)})."
  }

  assert {
    condition     = length(aws_iam_policy.read.policy) <= 6144 && length(aws_iam_policy.role_boundary.policy) <= 6144 && length(aws_iam_policy.monitoring.policy) <= 6144
    error_message = "Each managed policy must stay within IAM's 6,144 characters."
  }
}

run "an_existing_identity_provider_can_be_reused" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  variables {
    create_oidc_provider = false
    oidc_provider_arn    = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"
    enable_plan_role     = false
    state_bucket         = null
  }

  assert {
    condition     = jsondecode(aws_iam_role.deploy.assume_role_policy).Statement[0].Principal.Federated == var.oidc_provider_arn
    error_message = "With an existing identity provider, the deploy role trusts that one."
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && length(aws_iam_role.plan) == 0 && length(aws_iam_role_policy_attachment.plan_read) == 0
    error_message = "With an existing identity provider and no plan role, only the deploy role is created."
  }

  assert {
    condition     = !anytrue([for s in concat(jsondecode(aws_iam_role_policy.deploy.policy).Statement, jsondecode(aws_iam_policy.monitoring.policy).Statement, jsondecode(aws_iam_policy.read.policy).Statement) : startswith(s.Sid, "ListState") || startswith(s.Sid, "ReadState") || startswith(s.Sid, "WriteState")])
    error_message = "Without a state bucket there are no state permissions."
  }
}

run "other_subjects_replace_the_default" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  variables {
    deploy_subjects = ["ref:refs/heads/main"]
  }

  assert {
    condition     = jsondecode(aws_iam_role.deploy.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/leave-calendar:ref:refs/heads/main"]
    error_message = "The deploy role must trust exactly the subjects given."
  }
}

run "wildcard_subjects_are_refused" {
  command = plan

  module {
    source = "./modules/github_oidc"
  }

  variables {
    deploy_subjects = ["ref:refs/heads/*"]
  }

  expect_failures = [var.deploy_subjects]
}
