"""boto3 against `sfn-harness serve`: the seed with a mock config, an
activity worker loop, and AWS error shapes. Usage: boto3_seed.py URL"""
import json, sys, time, threading
import boto3
from botocore.config import Config

url = sys.argv[1]
sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="x", aws_secret_access_key="x",
                   config=Config(read_timeout=70, retries={"max_attempts": 0}))

definition = open("fixtures/seed/state-machine.asl.json").read()
sm = sfn.create_state_machine(name="state-machine", definition=definition,
                              roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
ex = sfn.start_execution(stateMachineArn=sm + "#HappyPath", name="boto3-0",
                         input=json.dumps({"input": {"number": 0}}))["executionArn"]
for _ in range(500):
    d = sfn.describe_execution(executionArn=ex)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.01)
assert d["status"] == "SUCCEEDED", d
assert json.loads(d["output"])["input"]["number"] == 4, d
events = []
for page in sfn.get_paginator("get_execution_history").paginate(executionArn=ex, PaginationConfig={"PageSize": 7}):
    events += page["events"]
assert len(events) == 46, len(events)
assert sum(e["type"] == "TaskScheduled" for e in events) == 4
sched = [e for e in events if e["type"] == "TaskScheduled"][0]["taskScheduledEventDetails"]
assert sched["resourceType"] == "ecs" and sched["resource"] == "runTask.sync", sched

# the failure path from the mock config
wft = open("fixtures/seed/state-machine.wait-for-token.asl.json").read()
sm2 = sfn.create_state_machine(name="state-machine-wait-for-token", definition=wft,
                               roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
ex2 = sfn.start_execution(stateMachineArn=sm2 + "#WorkerFails", input=json.dumps({"input": {"number": 0}}))["executionArn"]
for _ in range(500):
    d2 = sfn.describe_execution(executionArn=ex2)
    if d2["status"] != "RUNNING":
        break
    time.sleep(0.01)
assert d2["status"] == "FAILED" and d2["error"] == "Container task failed.", d2

# an activity worker loop: GetActivityTask -> SendTaskSuccess
act = sfn.create_activity(name="square")["activityArn"]
sm3 = sfn.create_state_machine(name="activity", roleArn="arn:aws:iam::123456789012:role/r", definition=json.dumps(
    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": act, "TimeoutSeconds": 60, "Next": "B"},
                                "B": {"Type": "Task", "Resource": act, "TimeoutSeconds": 60, "End": True}}}))["stateMachineArn"]
ex3 = sfn.start_execution(stateMachineArn=sm3, input=json.dumps({"n": 3}))["executionArn"]
for _ in range(2):
    task = sfn.get_activity_task(activityArn=act, workerName="boto3-worker")
    n = json.loads(task["input"])["n"]
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"n": n * n}))
for _ in range(500):
    d3 = sfn.describe_execution(executionArn=ex3)
    if d3["status"] != "RUNNING":
        break
    time.sleep(0.01)
assert d3["status"] == "SUCCEEDED" and json.loads(d3["output"]) == {"n": 81}, d3

# AWS error shapes, as botocore's modeled exceptions
for call, exc in [
    (lambda: sfn.describe_state_machine(stateMachineArn=sm + "x"), sfn.exceptions.StateMachineDoesNotExist),
    (lambda: sfn.describe_execution(executionArn="arn:aws:nope"), sfn.exceptions.InvalidArn),
    (lambda: sfn.send_task_success(taskToken="nope", output="{}"), sfn.exceptions.InvalidToken),
    (lambda: sfn.create_state_machine(name="bad", definition="{}", roleArn="arn:aws:iam::1:role/r"), sfn.exceptions.InvalidDefinition),
    (lambda: sfn.start_execution(stateMachineArn=sm, name="boto3-0", input="{}"), sfn.exceptions.ExecutionAlreadyExists),
]:
    try:
        call()
        raise AssertionError(f"expected {exc}")
    except exc:
        pass
print("boto3 OK")
