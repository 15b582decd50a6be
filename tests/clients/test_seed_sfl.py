"""The seed pipeline through a pytest + boto3 suite written the way AWS's
Step Functions Local samples write theirs: a mock config selected with
`stateMachineArn#TestCase`, one test per path (happy, retry, failure), and
assertions on the execution's event sequence. Only the endpoint is ours:
SFN_ENDPOINT (sfn-harness serve --mock-config fixtures/seed/mock-config.json).
"""
import copy
import json
import os
import time

import boto3
import pytest

ENDPOINT = os.environ.get("SFN_ENDPOINT", "http://localhost:8083")
ROLE = "arn:aws:iam::123456789012:role/DummyRole"
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.path.join(HERE, "..", "..", "fixtures", "seed")


def load(name):
    with open(os.path.join(SEED, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def sfn():
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
    )


def create(sfn, name, definition):
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def run(sfn, machine_arn, test_case, name, payload):
    arn = sfn.start_execution(
        stateMachineArn=f"{machine_arn}#{test_case}", name=name, input=json.dumps(payload)
    )["executionArn"]
    for _ in range(500):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described, history(sfn, arn)
        time.sleep(0.01)
    raise AssertionError(f"{arn} did not finish")


def history(sfn, arn):
    events, kwargs = [], {"executionArn": arn, "maxResults": 10}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if "nextToken" not in page:
            return events
        kwargs["nextToken"] = page["nextToken"]


def types(events):
    return [e["type"] for e in events]


def test_happy_path_runs_the_task_four_times(sfn):
    arn = create(sfn, "state-machine", load("state-machine.asl.json"))
    described, events = run(sfn, arn, "HappyPath", "happy", {"input": {"number": 0}})
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["input"]["number"] == 4
    assert types(events)[:5] == [
        "ExecutionStarted",
        "ChoiceStateEntered",
        "ChoiceStateExited",
        "TaskStateEntered",
        "TaskScheduled",
    ]
    assert types(events).count("TaskScheduled") == 4
    assert types(events).count("WaitStateEntered") == 4
    assert types(events)[-1] == "ExecutionSucceeded"
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("ecs", "runTask.sync")
    # ids chain as AWS's do
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))


def test_retry_path_retries_the_failed_task_and_succeeds(sfn):
    definition = copy.deepcopy(load("state-machine.asl.json"))
    definition["States"]["FargateTask"]["Retry"] = [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2}
    ]
    arn = create(sfn, "state-machine-with-retry", definition)
    described, events = run(sfn, arn, "RetryThenSucceed", "retry", {"input": {"number": 0}})
    assert described["status"] == "SUCCEEDED"
    # (a .sync task that ran records TaskSubmitted too; it is left out here)
    sequence = [t for t in types(events) if t.startswith("Task") and t != "TaskSubmitted"]
    assert sequence[:6] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
    ]
    failed = next(e for e in events if e["type"] == "TaskFailed")["taskFailedEventDetails"]
    assert failed["error"] == "States.TaskFailed"
    assert json.loads(described["output"])["input"]["number"] == 4


def test_failure_path_fails_the_execution_with_the_workers_error(sfn):
    arn = create(sfn, "state-machine-wait-for-token", load("state-machine.wait-for-token.asl.json"))
    described, events = run(sfn, arn, "WorkerFails", "fails", {"input": {"number": 0}})
    assert described["status"] == "FAILED"
    assert described["error"] == "Container task failed."
    assert types(events)[-2:] == ["TaskFailed", "ExecutionFailed"]


def test_a_parallel_records_its_success_before_its_exit(sfn):
    definition = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
            }
        },
    }
    arn = create(sfn, "fan", definition)
    execution = sfn.start_execution(stateMachineArn=arn, name="fan", input="{}")["executionArn"]
    for _ in range(500):
        if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
            break
        time.sleep(0.01)
    events = history(sfn, execution)
    tail = types(events)[-3:]
    assert tail == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    succeeded, exited = events[-3], events[-2]
    assert exited["previousEventId"] == succeeded["previousEventId"]
