data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  name       = var.stack_name

  oidc_host         = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : var.oidc_provider_arn

  # ARN prefixes of this account and region, so no statement reaches another account or region.
  arn = {
    ec2     = "arn:${local.partition}:ec2:${local.region}:${local.account_id}"
    elb     = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}"
    ecs     = "arn:${local.partition}:ecs:${local.region}:${local.account_id}"
    ecr     = "arn:${local.partition}:ecr:${local.region}:${local.account_id}"
    logs    = "arn:${local.partition}:logs:${local.region}:${local.account_id}"
    ddb     = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}"
    kms     = "arn:${local.partition}:kms:${local.region}:${local.account_id}"
    scaling = "arn:${local.partition}:application-autoscaling:${local.region}:${local.account_id}"
    alarm   = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}"
    events  = "arn:${local.partition}:events:${local.region}:${local.account_id}"
    sns     = "arn:${local.partition}:sns:${local.region}:${local.account_id}"
    waf     = "arn:${local.partition}:wafv2:${local.region}:${local.account_id}"
    iam     = "arn:${local.partition}:iam::${local.account_id}"
  }

  # Reads Terraform makes to refresh the stack. These actions have no resource-level
  # permissions (AWS requires `*`); the statement is limited to the region by condition.
  read_actions = [
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:ListTagsForResource",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetDashboard",
    "cloudwatch:ListTagsForResource",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpointServices",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListTagsForResource",
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTagsForResource",
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "events:DescribeRule",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "logs:DescribeLogGroups",
    "logs:DescribeMetricFilters",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "wafv2:GetWebACLForResource",
  ]

  # Reads of the stack's roles. IAM is a global service whose endpoint is in us-east-1, so for
  # these calls aws:RequestedRegion is always us-east-1: they cannot share the region-limited
  # statement above. They support resource-level permissions instead: the stack's roles only.
  role_read_actions = [
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
  ]
  # The stack's roles are under the IAM path /<name>/, which no other role shares: a name
  # prefix would also match roles the stack did not make, without the boundary (an
  # administrator's leave-calendar-admin, another stack's leave-calendar-staging-task), whose
  # trust policy the deploy role could then rewrite, or which it could pass to a task.
  stack_roles = "${local.arn.iam}:role/${local.name}/*"
  # Where stacks created before the path kept their roles: read, and deleted when an apply
  # replaces them by the roles under the path, and nothing else.
  stack_roles_before_the_path = "${local.arn.iam}:role/${local.name}-*"

  # The stack's EventBridge rule (modules/monitoring), on the default event bus: by its whole
  # name, since `rule/<name>-*` would also match rules of an event bus named `<name>-…`.
  stack_event_rule = "${local.arn.events}:rule/${local.name}-service-events"
}

# --- Who may assume the roles: GitHub's OIDC tokens for this repository only ---------------------

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

locals {
  # Only this repository's workflows, by exact subject: the deploy role from the main branch (or
  # the given environments), the plan role from pull requests.
  trust = {
    deploy = [for s in var.deploy_subjects : "repo:${var.github_repository}:${s}"]
    plan   = ["repo:${var.github_repository}:pull_request"]
  }
  trust_policies = {
    for role, subjects in local.trust : role => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "GitHubActions"
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = local.oidc_provider_arn }
        Condition = {
          StringEquals = {
            "${local.oidc_host}:aud" = "sts.amazonaws.com"
            "${local.oidc_host}:sub" = subjects
          }
        }
      }]
    })
  }

  in_region = { StringEquals = { "aws:RequestedRegion" = local.region } }
  state_arn = "arn:${local.partition}:s3:::${coalesce(var.state_bucket, "none")}"

  # What both roles need to refresh the stack and read its state.
  read_statements = concat(
    [
      {
        # These reads have no resource-level permissions (AWS requires `*`): limited to the region.
        Sid       = "RefreshTheStack"
        Effect    = "Allow"
        Action    = local.read_actions
        Resource  = "*"
        Condition = local.in_region
      },
      {
        # No region condition: IAM requests are always made to us-east-1 (see role_read_actions).
        Sid      = "ReadTheStacksRoles"
        Effect   = "Allow"
        Action   = local.role_read_actions
        Resource = [local.stack_roles, local.stack_roles_before_the_path]
      },
      {
        Sid      = "WhoAmI"
        Effect   = "Allow"
        Action   = ["sts:GetCallerIdentity"]
        Resource = "*"
      },
    ],
    [for statement in [
      {
        Sid       = "ListState"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = local.state_arn
        Condition = { StringLike = { "s3:prefix" = ["${var.state_key_prefix}*"] } }
      },
      {
        Sid      = "ReadState"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${local.state_arn}/${var.state_key_prefix}*"
      },
    ] : statement if var.state_bucket != null],
  )

  # What only the deploy role may do (its inline policy): push the image and change the stack's
  # own resources.
  deploy_statements = concat(
    [for statement in [
      {
        Sid      = "WriteStateAndLock"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:PutObject"]
        Resource = "${local.state_arn}/${var.state_key_prefix}*"
      },
    ] : statement if var.state_bucket != null],
    [
      {
        Sid      = "LogInToTheRegistry"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"] # no resource-level permissions
        Resource = "*"
      },
      {
        Sid    = "PushAndManageTheRepository"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:CreateRepository",
          "ecr:DeleteLifecyclePolicy",
          "ecr:DeleteRepository",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:PutImageScanningConfiguration",
          "ecr:PutImageTagMutability",
          "ecr:PutLifecyclePolicy",
          "ecr:TagResource",
          "ecr:UntagResource",
          "ecr:UploadLayerPart",
        ]
        Resource = "${local.arn.ecr}:repository/${local.name}"
      },
      {
        Sid    = "NetworkInThisRegion"
        Effect = "Allow"
        Action = [
          "ec2:AllocateAddress",
          "ec2:AssociateRouteTable",
          "ec2:AttachInternetGateway",
          "ec2:AuthorizeSecurityGroupEgress",
          "ec2:AuthorizeSecurityGroupIngress",
          "ec2:CreateFlowLogs",
          "ec2:CreateInternetGateway",
          "ec2:CreateNatGateway",
          "ec2:CreateRoute",
          "ec2:CreateRouteTable",
          "ec2:CreateSecurityGroup",
          "ec2:CreateSubnet",
          "ec2:CreateTags",
          "ec2:CreateVpc",
          "ec2:CreateVpcEndpoint",
          "ec2:DeleteFlowLogs",
          "ec2:DeleteInternetGateway",
          "ec2:DeleteNatGateway",
          "ec2:DeleteRoute",
          "ec2:DeleteRouteTable",
          "ec2:DeleteSecurityGroup",
          "ec2:DeleteSubnet",
          "ec2:DeleteTags",
          "ec2:DeleteVpc",
          "ec2:DeleteVpcEndpoints",
          "ec2:DetachInternetGateway",
          "ec2:DisassociateAddress",
          "ec2:DisassociateRouteTable",
          "ec2:ModifySecurityGroupRules",
          "ec2:ModifySubnetAttribute",
          "ec2:ModifyVpcAttribute",
          "ec2:ModifyVpcEndpoint",
          "ec2:ReleaseAddress",
          "ec2:ReplaceRoute",
          "ec2:RevokeSecurityGroupEgress",
          "ec2:RevokeSecurityGroupIngress",
          "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
          "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
        ]
        # EC2 resources of this account and region, and the AWS-owned prefix lists that routes
        # and gateway endpoints refer to: any VPC's, not only the stack's. Left this broad on
        # purpose. ec2:Vpc would need the stack's VPC ID, which does not exist when this module
        # is applied. A tag condition would need CreateTags limited too (or a role could tag any
        # resource Application = <name> and then change it), yet the stack adopts the VPC's
        # default security group, which AWS creates untagged and the provider tags and empties
        # afterwards; and actions spanning several resources (a route to a gateway, an endpoint on
        # an AWS prefix list, a rule naming another group) need each resource type allowed on its
        # own. None of that can be tried without real IAM, and a wrong guess breaks the deploy
        # (the README's limits say what this allows).
        Resource = ["${local.arn.ec2}:*", "arn:${local.partition}:ec2:${local.region}:aws:prefix-list/*"]
      },
      {
        # An interface endpoint with private DNS (ECR's and CloudWatch Logs') joins the VPC to a
        # private hosted zone that AWS owns: CreateVpcEndpoint and ModifyVpcEndpoint check this
        # action of the caller. The zone is in no account of ours, hence no account in the ARN.
        Sid      = "PrivateDnsOfTheEndpoints"
        Effect   = "Allow"
        Action   = ["route53:AssociateVPCWithHostedZone"]
        Resource = "arn:${local.partition}:route53:::hostedzone/*"
      },
      {
        Sid    = "TheLoadBalancer"
        Effect = "Allow"
        Action = [
          "elasticloadbalancing:AddTags",
          "elasticloadbalancing:CreateListener",
          "elasticloadbalancing:CreateLoadBalancer",
          "elasticloadbalancing:CreateTargetGroup",
          "elasticloadbalancing:DeleteListener",
          "elasticloadbalancing:DeleteLoadBalancer",
          "elasticloadbalancing:DeleteTargetGroup",
          "elasticloadbalancing:ModifyListener",
          "elasticloadbalancing:ModifyListenerAttributes",
          "elasticloadbalancing:ModifyLoadBalancerAttributes",
          "elasticloadbalancing:ModifyTargetGroup",
          "elasticloadbalancing:ModifyTargetGroupAttributes",
          "elasticloadbalancing:RemoveTags",
          "elasticloadbalancing:SetSecurityGroups",
          "elasticloadbalancing:SetSubnets",
          "elasticloadbalancing:SetWebAcl",
        ]
        Resource = [
          "${local.arn.elb}:loadbalancer/app/${local.name}/*",
          "${local.arn.elb}:listener/app/${local.name}/*",
          "${local.arn.elb}:targetgroup/${local.name}-*/*",
        ]
      },
      {
        Sid    = "TheClusterAndService"
        Effect = "Allow"
        Action = [
          "ecs:CreateCluster",
          "ecs:CreateService",
          "ecs:DeleteCluster",
          "ecs:DeleteService",
          "ecs:PutClusterCapacityProviders",
          "ecs:TagResource",
          "ecs:UntagResource",
          "ecs:UpdateCluster",
          "ecs:UpdateClusterSettings",
          "ecs:UpdateService",
        ]
        Resource = [
          "${local.arn.ecs}:cluster/${local.name}",
          "${local.arn.ecs}:service/${local.name}/${local.name}",
          "${local.arn.ecs}:task-definition/${local.name}:*",
        ]
      },
      {
        # Register and deregister have no resource-level permissions: limited to the region.
        Sid       = "TaskDefinitions"
        Effect    = "Allow"
        Action    = ["ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition"]
        Resource  = "*"
        Condition = local.in_region
      },
      {
        # Whatever inline policy the deploy role writes, a role it creates or changes can do no
        # more than the boundary allows: these actions are allowed only when the role carries
        # exactly that boundary (the key iam:PermissionsBoundary applies to each of them).
        # PutRolePermissionsBoundary, so limited, can only set this boundary: it lets an apply
        # give it to roles created before the stack had `role_permissions_boundary`.
        # iam:DeleteRolePermissionsBoundary is never granted, and neither is any action on
        # managed policies (the boundary among them). The deploy role's own name does not match.
        Sid    = "TheStacksRolesWithinTheBoundary"
        Effect = "Allow"
        Action = [
          "iam:CreateRole",
          "iam:DeleteRolePolicy",
          "iam:PutRolePermissionsBoundary",
          "iam:PutRolePolicy",
        ]
        Resource  = local.stack_roles
        Condition = { StringEquals = { "iam:PermissionsBoundary" = aws_iam_policy.role_boundary.arn } }
      },
      {
        # Actions the key iam:PermissionsBoundary does not apply to. None of them changes what
        # a role may do; UpdateAssumeRolePolicy changes who may assume it (see the README).
        Sid    = "TheStacksRoles"
        Effect = "Allow"
        Action = [
          "iam:DeleteRole",
          "iam:TagRole",
          "iam:UntagRole",
          "iam:UpdateAssumeRolePolicy",
          "iam:UpdateRole",
        ]
        Resource = local.stack_roles
      },
      {
        # Once: an apply that moves a stack created before the IAM path deletes its roles of
        # then. Taking a role's inline policy away needs the boundary on it, as above; deleting a
        # role gives no one anything.
        Sid       = "RemoveTheStacksRolesFromBeforeThePath"
        Effect    = "Allow"
        Action    = ["iam:DeleteRolePolicy"]
        Resource  = local.stack_roles_before_the_path
        Condition = { StringEquals = { "iam:PermissionsBoundary" = aws_iam_policy.role_boundary.arn } }
      },
      {
        Sid      = "DeleteTheStacksRolesFromBeforeThePath"
        Effect   = "Allow"
        Action   = ["iam:DeleteRole"]
        Resource = local.stack_roles_before_the_path
      },
      {
        Sid       = "PassTheStacksRolesToTheirServices"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = local.stack_roles
        Condition = { StringEquals = { "iam:PassedToService" = ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"] } }
      },
      {
        Sid      = "ServiceLinkedRoles"
        Effect   = "Allow"
        Action   = ["iam:CreateServiceLinkedRole"]
        Resource = "${local.arn.iam}:role/aws-service-role/*"
        Condition = { StringEquals = { "iam:AWSServiceName" = [
          "ecs.amazonaws.com",
          "ecs.application-autoscaling.amazonaws.com",
          "elasticloadbalancing.amazonaws.com",
        ] } }
      },
      {
        Sid    = "TheStacksLogGroups"
        Effect = "Allow"
        Action = [
          "logs:AssociateKmsKey",
          "logs:CreateLogGroup",
          "logs:DeleteRetentionPolicy",
          "logs:DisassociateKmsKey",
          "logs:PutRetentionPolicy",
          "logs:TagLogGroup",
          "logs:TagResource",
          "logs:UntagLogGroup",
          "logs:UntagResource",
        ]
        Resource = [
          "${local.arn.logs}:log-group:/ecs/${local.name}",
          "${local.arn.logs}:log-group:/ecs/${local.name}:*",
          "${local.arn.logs}:log-group:/vpc/${local.name}/*",
        ]
      },
      {
        Sid    = "TheStacksTable"
        Effect = "Allow"
        Action = [
          "dynamodb:CreateTable",
          "dynamodb:TagResource",
          "dynamodb:UntagResource",
          "dynamodb:UpdateContinuousBackups",
          "dynamodb:UpdateTable",
          "dynamodb:UpdateTimeToLive",
        ]
        Resource = "${local.arn.ddb}:table/${local.name}-*"
      },
      {
        Sid    = "Autoscaling"
        Effect = "Allow"
        Action = [
          "application-autoscaling:DeleteScalingPolicy",
          "application-autoscaling:DeregisterScalableTarget",
          "application-autoscaling:PutScalingPolicy",
          "application-autoscaling:RegisterScalableTarget",
          "application-autoscaling:TagResource",
          "application-autoscaling:UntagResource",
        ]
        Resource = "${local.arn.scaling}:scalable-target/*"
      },
      {
        # Target tracking policies create their alarms with the caller's permissions.
        Sid      = "TargetTrackingAlarms"
        Effect   = "Allow"
        Action   = ["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm"]
        Resource = "${local.arn.alarm}:alarm:TargetTracking-service/${local.name}/${local.name}-*"
      },
      # The table's customer key (modules/database, `create_table_kms_key`). A key's ARN exists
      # only once it is created, so the statements name every key of the account and region and
      # tell the stack's keys by their tag Application = <name>, which the stack puts on every
      # resource and CreateKeys below requires. (aws:ResourceTag applies to every action on a
      # key, aws:RequestTag to CreateKey and TagResource, aws:TagKeys to those and UntagResource:
      # Service Authorization Reference, AWS KMS.)
      {
        # The alias of the table's key, alias/dynamodb-<table name> (tables are <name>-…). An
        # alias has no tags, so no tag condition can apply to it; CreateAlias and DeleteAlias
        # are authorised on the key as well, in the statements that follow.
        Sid      = "AliasesOfTheStacksKeys"
        Effect   = "Allow"
        Action   = ["kms:CreateAlias", "kms:DeleteAlias"]
        Resource = "${local.arn.kms}:alias/dynamodb-${local.name}-*"
      },
      {
        # Moving an alias away from a key: keys tagged for this stack only. A replacement calls
        # it, normally long after the key was created; within minutes of its creation AWS may
        # refuse it until the tag counts (up to five): run it again. Deleting the key itself
        # (kms:ScheduleKeyDeletion), like deleting the table or the log groups, is left to an
        # administrator: a workflow that can deploy must not be able to destroy the bookings,
        # make them unreadable, or remove the logs of what it did.
        Sid       = "MoveAliasesOffOnlyTheStacksKeys"
        Effect    = "Allow"
        Action    = ["kms:DeleteAlias"]
        Resource  = "${local.arn.kms}:key/*"
        Condition = { StringEquals = { "aws:ResourceTag/Application" = local.name } }
      },
      {
        # Removing tags of the stack's keys, but never the Application tag itself: a key of the
        # stack cannot be made to look like no one's.
        Sid      = "UntagOnlyTheStacksKeysKeepingTheirApplication"
        Effect   = "Allow"
        Action   = ["kms:UntagResource"]
        Resource = "${local.arn.kms}:key/*"
        Condition = {
          StringEquals                   = { "aws:ResourceTag/Application" = local.name }
          "ForAllValues:StringNotEquals" = { "aws:TagKeys" = ["Application"] }
        }
      },
      {
        # What the provider does to a key while creating it: CreateKey with tags and a policy
        # needs TagResource (on any key: AWS KMS developer guide, "Controlling access to tags")
        # and PutKeyPolicy (the key policy lockout check), then come EnableKeyRotation and the
        # alias, seconds later, when a new key's tags may not count for authorisation yet (up to
        # five minutes: "ABAC for AWS KMS"). A required tag could refuse a first apply, so these
        # only refuse keys tagged for another application, and setting Application to another
        # name; keys without that tag stay reachable (see the README's limits).
        Sid    = "KeysBeingCreatedOrOfTheStack"
        Effect = "Allow"
        Action = [
          "kms:CreateAlias",
          "kms:EnableKeyRotation",
          "kms:PutKeyPolicy",
          "kms:TagResource",
        ]
        Resource = "${local.arn.kms}:key/*"
        Condition = { StringEqualsIfExists = {
          "aws:ResourceTag/Application" = local.name
          "aws:RequestTag/Application"  = local.name
        } }
      },
      {
        # Creating a table encrypted with a customer key makes DynamoDB take a grant on it with
        # the caller's permissions; only DynamoDB may use this one, for the table.
        Sid      = "TableKeyGrantsForDynamoDB"
        Effect   = "Allow"
        Action   = ["kms:CreateGrant"]
        Resource = "${local.arn.kms}:key/*"
        Condition = {
          StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" }
          Bool         = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
      {
        # A repository encrypted with a customer key (the root's ecr_kms_key_arn): ECR takes
        # grants on the key with the permissions of whoever creates the repository (Amazon ECR
        # user guide, "Encryption at rest"); only ECR may use them, for the repository.
        Sid      = "RepositoryKeyGrantsForECR"
        Effect   = "Allow"
        Action   = ["kms:CreateGrant"]
        Resource = "${local.arn.kms}:key/*"
        Condition = {
          StringEquals = { "kms:ViaService" = "ecr.${local.region}.amazonaws.com" }
          Bool         = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
      {
        # DynamoDB uses a customer key with the permissions of the principal that creates or
        # updates the table, who needs kms:Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*,
        # DescribeKey and CreateGrant (AWS KMS developer guide, "How Amazon DynamoDB uses AWS
        # KMS"). Named here (the `*` forms would also allow data key pairs); DescribeKey is among
        # the reads, CreateGrant above. Only through DynamoDB of this region: no direct use.
        # (kms:CallerAccount, which AWS's key policy adds, is always this account in a policy
        # of this account's role.)
        Sid    = "TableKeyThroughDynamoDB"
        Effect = "Allow"
        Action = [
          "kms:Decrypt",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
        ]
        Resource  = "${local.arn.kms}:key/*"
        Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
      },
      {
        # The optional web ACL (`web_acl_arn`): associating it needs these on the ACL as well as
        # elasticloadbalancing:SetWebAcl on the load balancer.
        Sid      = "AttachAWebAclToTheLoadBalancer"
        Effect   = "Allow"
        Action   = ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"]
        Resource = ["${local.arn.waf}:regional/webacl/*/*", "${local.arn.elb}:loadbalancer/app/${local.name}/*"]
      },
      {
        # No resource-level permissions: limited to the region, and to keys created with the
        # stack's tag (the provider passes a key's tags in CreateKey itself).
        Sid      = "CreateKeys"
        Effect   = "Allow"
        Action   = ["kms:CreateKey"]
        Resource = "*"
        Condition = { StringEquals = {
          "aws:RequestedRegion"        = local.region
          "aws:RequestTag/Application" = local.name
        } }
      },
    ],
  )

  # What the deploy role may do to modules/monitoring's resources, in a managed policy of its own
  # (monitoring below): the deploy role's inline policy would not fit it within IAM's 10,240
  # characters with the longest stack name.
  monitoring_statements = [
    {
      # The stack's alarms (tagged at creation, hence TagResource).
      Sid      = "TheStacksAlarms"
      Effect   = "Allow"
      Action   = ["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
      Resource = "${local.arn.alarm}:alarm:${local.name}-*"
    },
    {
      # The stack's dashboard, by its name. A dashboard's ARN has no region.
      Sid      = "TheStacksDashboard"
      Effect   = "Allow"
      Action   = ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"]
      Resource = "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.name}"
    },
    {
      # The filter counting the application's ERROR lines, on its log group only.
      Sid      = "TheApplicationsErrorMetricFilter"
      Effect   = "Allow"
      Action   = ["logs:DeleteMetricFilter", "logs:PutMetricFilter"]
      Resource = ["${local.arn.logs}:log-group:/ecs/${local.name}", "${local.arn.logs}:log-group:/ecs/${local.name}:*"]
    },
    # The EventBridge rule that sends the service's events to the alarm topics, by name. A rule
    # of the default event bus can match any event of the account, CloudTrail's included, and
    # send it anywhere: the deploy role's rule may match ECS's deployment and service events
    # only (not its task events, which carry the tasks' environment), and send them only to SNS
    # topics of this account and region. A pattern without a source or a detail type would
    # match them all, hence the Null tests.
    {
      Sid      = "TheStacksEventRule"
      Effect   = "Allow"
      Action   = ["events:DeleteRule", "events:RemoveTargets", "events:TagResource", "events:UntagResource"]
      Resource = local.stack_event_rule
    },
    {
      Sid      = "TheStacksEventRuleMatchesEcsServiceEventsOnly"
      Effect   = "Allow"
      Action   = ["events:PutRule"]
      Resource = local.stack_event_rule
      Condition = {
        "ForAllValues:StringEquals" = {
          "events:source"      = ["aws.ecs"]
          "events:detail-type" = ["ECS Deployment State Change", "ECS Service Action"]
        }
        Null = { "events:source" = "false", "events:detail-type" = "false" }
      }
    },
    {
      Sid      = "TheStacksEventRuleNotifiesTopicsOfTheAccount"
      Effect   = "Allow"
      Action   = ["events:PutTargets"]
      Resource = local.stack_event_rule
      Condition = {
        "ForAllValues:ArnLike" = { "events:TargetArn" = ["${local.arn.sns}:*"] }
        Null                   = { "events:TargetArn" = "false" }
      }
    },
  ]
}

# --- The most the stack's roles may ever do ------------------------------------------------------

locals {
  # The application's DynamoDB calls: infra/main.tf's `dynamodb_actions`, applied apart from
  # this module (infra/scripts/check fails when the two differ).
  table_item_actions = [
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
  ]

  # The union of what the stack gives its three roles (modules/service/iam.tf: task and execution
  # roles; modules/network/flow_logs.tf: flow-log role), each action named, each resource cut to
  # the stack's names in this account and region.
  boundary_statements = [
    {
      Sid      = "TaskRoleTheStacksTables"
      Effect   = "Allow"
      Action   = local.table_item_actions
      Resource = ["${local.arn.ddb}:table/${local.name}-*", "${local.arn.ddb}:table/${local.name}-*/index/*"]
    },
    {
      # A table's customer key (`create_table_kms_key`): its ID is known only once created, so
      # any key of the account and region, used through DynamoDB only.
      Sid       = "TaskRoleTableKeyThroughDynamoDb"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
      Resource  = "${local.arn.kms}:key/*"
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
    },
    {
      Sid      = "ExecutionRoleRegistryLogin"
      Effect   = "Allow"
      Action   = ["ecr:GetAuthorizationToken"] # no resource-level permissions
      Resource = "*"
    },
    {
      Sid      = "ExecutionRolePullTheStacksRepository"
      Effect   = "Allow"
      Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      Resource = "${local.arn.ecr}:repository/${local.name}"
    },
    {
      Sid      = "ExecutionRoleWriteTheApplicationsLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "${local.arn.logs}:log-group:/ecs/${local.name}:log-stream:*"
    },
    {
      Sid      = "FlowLogRoleWriteTheFlowLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
      Resource = "${local.arn.logs}:log-group:/vpc/${local.name}/*"
    },
    {
      # Lists the account's log groups of the region (names and settings, no events): AWS
      # evaluates it against the region's groups as a whole, it cannot name one.
      Sid      = "FlowLogRoleFindTheLogGroup"
      Effect   = "Allow"
      Action   = ["logs:DescribeLogGroups"]
      Resource = "${local.arn.logs}:log-group:*"
    },
  ]
}

# The permissions boundary of every role the stack creates (the stack's `role_permissions_boundary`).
# The deploy role may create and change the stack's roles only with this boundary attached, and has
# no permission on managed policies: it can neither edit this one nor attach another.
resource "aws_iam_policy" "role_boundary" {
  name        = "github-deploy-${local.name}-role-boundary"
  description = "Permissions boundary of the ${local.name} stack's roles: the most they may ever do"
  policy      = jsonencode({ Version = "2012-10-17", Statement = local.boundary_statements })

  tags = var.tags
}

# --- The roles -----------------------------------------------------------------------------------

resource "aws_iam_role" "deploy" {
  # Not "<name>-...": the deploy role may manage the stack's roles, never itself.
  name                 = "github-deploy-${local.name}"
  description          = "Assumed by GitHub Actions (${var.github_repository}) to push the image and apply the ${local.name} stack"
  assume_role_policy   = local.trust_policies.deploy
  max_session_duration = var.max_session_duration

  tags = var.tags
}

# What both roles need to refresh the stack and read its state, as one managed policy attached to
# both: IAM allows a role 10,240 characters of inline policy in all, and the deploy role's own
# statements alone come near that with the longest stack name (a test checks the worst case).
resource "aws_iam_policy" "read" {
  name        = "github-read-${local.name}"
  description = "Lets the GitHub Actions roles of ${local.name} refresh the stack and read its state"
  policy      = jsonencode({ Version = "2012-10-17", Statement = local.read_statements })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "deploy_read" {
  role       = aws_iam_role.deploy.name
  policy_arn = aws_iam_policy.read.arn
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-${local.name}"
  role   = aws_iam_role.deploy.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.deploy_statements })
}

resource "aws_iam_policy" "monitoring" {
  name        = "github-deploy-${local.name}-monitoring"
  description = "Lets the GitHub Actions deploy role of ${local.name} manage the stack's alarms, error metric filter and event rules"
  policy      = jsonencode({ Version = "2012-10-17", Statement = local.monitoring_statements })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "deploy_monitoring" {
  role       = aws_iam_role.deploy.name
  policy_arn = aws_iam_policy.monitoring.arn
}

resource "aws_iam_role" "plan" {
  count = var.enable_plan_role ? 1 : 0

  name                 = "github-plan-${local.name}"
  description          = "Assumed by pull requests of ${var.github_repository} to show the Terraform plan (read only)"
  assume_role_policy   = local.trust_policies.plan
  max_session_duration = var.max_session_duration

  tags = var.tags
}

# The reads and nothing else.
resource "aws_iam_role_policy_attachment" "plan_read" {
  count = var.enable_plan_role ? 1 : 0

  role       = aws_iam_role.plan[0].name
  policy_arn = aws_iam_policy.read.arn
}
