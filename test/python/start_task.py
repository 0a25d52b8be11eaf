"""Starts PRISM's agentTask from the Python Temporal SDK, as an agent written in Python would, using only
what docs/workflows.md says: the workflow type, the task queue, the workflow id rule and reuse policy, the
input. Prints one JSON object: how the run ended, its result or failure, and its search attributes.

    python start_task.py '<request JSON>'   (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE)
"""

import asyncio
import json
import os
import sys

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError


async def connect(addresses: str, namespace: str) -> Client:
    """The first frontend of a comma-separated list that answers (a cluster's frontends are peers)."""
    errors = []
    for address in addresses.split(","):
        try:
            return await Client.connect(address, namespace=namespace)
        except Exception as err:  # noqa: BLE001 - every reason is reported below
            errors.append(f"{address}: {err}")
    raise RuntimeError("no Temporal frontend answered: " + "; ".join(errors))


async def main() -> None:
    request = json.loads(sys.argv[1])
    client = await connect(os.environ["TEMPORAL_ADDRESS"], os.environ["TEMPORAL_NAMESPACE"])
    handle = await client.start_workflow(
        "agentTask",
        request,
        id=f"task-{request['requestId']}",
        task_queue=os.environ["TEMPORAL_TASK_QUEUE"],
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    out: dict = {"workflowId": handle.id}
    try:
        out["result"] = await handle.result()
        out["ended"] = "completed"
    except WorkflowFailureError as err:
        cause = err.cause
        out["ended"] = "failed"
        if isinstance(cause, ApplicationError):
            out["failure"] = {
                "type": cause.type,
                "message": cause.message,
                "details": list(cause.details),
            }
    description = await handle.describe()
    out["status"] = description.status.name if description.status else None
    out["searchAttributes"] = {
        pair.key.name: pair.value for pair in description.typed_search_attributes
    }
    print(json.dumps(out))



asyncio.run(main())
# A short-lived client process: skip interpreter teardown, which can abort while the SDK's Rust threads
# still run (temporalio/sdk-python#300, "PyGILState_Release ... finalizing") after the work is done.
sys.stdout.flush()
os._exit(0)
