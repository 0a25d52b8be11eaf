"""Signals and queries a running PRISM task from the Python Temporal SDK, as docs/workflows.md describes:
reads its progress, sends user feedback, and answers its step as an agent would (the command id follows
the documented rule: UUID v5 of "command:<taskId>:<stepKey>" in PRISM's namespace). Prints one JSON object.

    python signal_and_query.py <workflowId> <taskId>   (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)
"""

import asyncio
import json
import os
import sys
import uuid

from temporalio.client import Client

PRISM_NAMESPACE = uuid.UUID("6f0a3c52-e1b4-4b0f-9b3e-8d2a7c1e5f90")


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
    workflow_id, task_id = sys.argv[1], sys.argv[2]
    client = await connect(os.environ["TEMPORAL_ADDRESS"], os.environ["TEMPORAL_NAMESPACE"])
    handle = client.get_workflow_handle(workflow_id)
    before = await handle.query("progress")
    await handle.signal(
        "userFeedback",
        {"feedbackType": "APPROVAL", "content": "looks right", "satisfaction": 5},
    )
    # Malformed payloads do not break a run: the workflow keeps only what it can use.
    await handle.signal("agentResponse", {"not": "an answer"})
    after = await handle.query("progress")
    await handle.signal(
        "agentResponse",
        {
            "commandId": str(uuid.uuid5(PRISM_NAMESPACE, f"command:{task_id}:main")),
            "workflowId": workflow_id,
            "stepKey": "main",
            "agentId": "python-agent",
            "status": "SUCCESS",
            "result": {"answeredBy": "python"},
        },
    )
    result = await handle.result()
    print(json.dumps({"before": before, "after": after, "result": result}))



asyncio.run(main())
# A short-lived client process: skip interpreter teardown, which can abort while the SDK's Rust threads
# still run (temporalio/sdk-python#300, "PyGILState_Release ... finalizing") after the work is done.
sys.stdout.flush()
os._exit(0)
