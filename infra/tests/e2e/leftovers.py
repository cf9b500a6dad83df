"""List what the stack could have left in the emulator after `terraform destroy`.

Usage: python leftovers.py http://127.0.0.1:PORT REGION [FAMILY]. Prints each leftover and exits
1 if any. Defaults the emulator creates by itself (the default VPC and its subnets, security group,
route table and internet gateway) are not leftovers. With FAMILY, the stack keeps the revisions of
that task definition family on purpose (`skip_destroy`, so a deployment can be rolled back by
hand): they must still be registered, and are not leftovers.
"""

import sys

import boto3


def main(endpoint: str, region: str, kept_family: str | None = None) -> int:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=region
    )

    def client(name: str):
        return session.client(name, endpoint_url=endpoint)

    found: list[str] = []
    ec2 = client("ec2")
    default_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")}
    found += [f"vpc {v['VpcId']}" for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    found += [
        f"subnet {s['SubnetId']}"
        for s in ec2.describe_subnets()["Subnets"]
        if s["VpcId"] not in default_vpcs
    ]
    found += [
        f"security group {g['GroupId']}"
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g.get("VpcId") not in default_vpcs
    ]
    found += [
        f"NAT gateway {n['NatGatewayId']}"
        for n in ec2.describe_nat_gateways()["NatGateways"]
        if n["State"] not in ("deleted", "deleting")
    ]
    found += [f"elastic IP {a.get('AllocationId')}" for a in ec2.describe_addresses()["Addresses"]]
    found += [
        f"VPC endpoint {e['VpcEndpointId']}"
        for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
        if e["State"].lower() not in ("deleted", "deleting")
    ]
    found += [f"flow log {f['FlowLogId']}" for f in ec2.describe_flow_logs()["FlowLogs"]]
    found += [
        f"internet gateway {i['InternetGatewayId']}"
        for i in ec2.describe_internet_gateways()["InternetGateways"]
        if not any(a.get("VpcId") in default_vpcs for a in i.get("Attachments", []))
    ]

    elb = client("elbv2")
    found += [f"load balancer {lb['LoadBalancerName']}" for lb in elb.describe_load_balancers()["LoadBalancers"]]
    found += [f"target group {tg['TargetGroupName']}" for tg in elb.describe_target_groups()["TargetGroups"]]

    ecs = client("ecs")
    for arn in ecs.list_clusters()["clusterArns"]:
        cluster = ecs.describe_clusters(clusters=[arn])["clusters"][0]
        if cluster["status"] == "ACTIVE":
            found.append(f"ECS cluster {arn}")
        services = ecs.list_services(cluster=arn)["serviceArns"]
        if services:
            found += [
                f"ECS service {s['serviceArn']}"
                for s in ecs.describe_services(cluster=arn, services=services)["services"]
                if s["status"] != "INACTIVE"
            ]
    active = ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    kept = [t for t in active if kept_family and t.split("/")[-1].rsplit(":", 1)[0] == kept_family]
    found += [f"task definition {t}" for t in active if t not in kept]
    missing: list[str] = []
    if kept_family:
        if kept:
            print(f"kept on purpose (skip_destroy): {', '.join(kept)}")
        else:
            missing.append(f"no task definition of {kept_family} is still registered (skip_destroy)")

    found += [f"DynamoDB table {t}" for t in client("dynamodb").list_tables()["TableNames"]]
    found += [f"ECR repository {r['repositoryName']}" for r in client("ecr").describe_repositories()["repositories"]]
    logs = client("logs")
    found += [f"log group {g['logGroupName']}" for g in logs.describe_log_groups()["logGroups"]]
    found += [f"metric filter {f['filterName']}" for f in logs.describe_metric_filters()["metricFilters"]]
    alarms = client("cloudwatch").describe_alarms()
    found += [f"alarm {a['AlarmName']}" for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]]
    found += [f"dashboard {d['DashboardName']}" for d in client("cloudwatch").list_dashboards()["DashboardEntries"]]
    found += [f"event rule {r['Name']}" for r in client("events").list_rules()["Rules"]]
    found += [
        f"IAM role {r['RoleName']}"
        for r in client("iam").list_roles()["Roles"]
        if not r["Path"].startswith("/aws-service-role/")
    ]

    kms = client("kms")
    aliases = kms.list_aliases()["Aliases"]
    # Keys behind alias/aws/<service> are the AWS-managed keys a service creates for itself.
    aws_managed = {a.get("TargetKeyId") for a in aliases if a["AliasName"].startswith("alias/aws/")}
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if key["KeyId"] in aws_managed:
            continue
        if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
            found.append(f"KMS key {key['KeyId']} ({meta['KeyState']}: {meta.get('Description')})")
    found += [f"KMS alias {a['AliasName']}" for a in aliases if not a["AliasName"].startswith("alias/aws/")]

    found += [
        f"scalable target {t['ResourceId']}"
        for t in client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    ]

    for item in found:
        print(f"left over: {item}")
    for item in missing:
        print(f"missing: {item}")
    return 1 if found or missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
