// The worker's payload converter: the default one (JSON), except that a payload it cannot read — JSON that
// is not JSON, an encoding nobody knows — becomes a value saying so instead of an exception. Any Temporal
// client may signal or query a run; with the default converter such a signal fails the run's workflow task
// on every retry, and the run is stuck for good. Here the value, `{ undecodablePayload: { encoding,
// reason } }`, reaches the handler, which refuses it like any malformed input (the agentResponse handler
// drops it; a run started with it fails as an invalid request).
// CommonJS, plain JavaScript: the worker require()s it (Worker `dataConverter.payloadConverterPath`) and
// also bundles it into the workflow sandbox, so no Node built-ins either.
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the worker require()s this file. */
'use strict';
const { DefaultPayloadConverter } = require('@temporalio/common');
const { decode } = require('@temporalio/common/lib/encoding');

class TolerantPayloadConverter extends DefaultPayloadConverter {
  fromPayload(payload, ...rest) {
    try {
      return super.fromPayload(payload, ...rest);
    } catch (err) {
      const encoding =
        payload.metadata && payload.metadata.encoding ? decode(payload.metadata.encoding) : '(none)';
      return { undecodablePayload: { encoding, reason: err instanceof Error ? err.message : String(err) } };
    }
  }
}

module.exports = { payloadConverter: new TolerantPayloadConverter() };
