// Drives the reference server with the AWS SDK for JavaScript v3: node lifecycle.mjs ENDPOINT_URL
// Prints one JSON document of what each call answered; tests/test_reference_js_sdk.py judges it.
import {
  ComprehendClient, DescribePiiEntitiesDetectionJobCommand, StartPiiEntitiesDetectionJobCommand,
  StopPiiEntitiesDetectionJobCommand,
} from "@aws-sdk/client-comprehend";
import {
  ComprehendMedicalClient, DescribePHIDetectionJobCommand, StartPHIDetectionJobCommand,
  StopPHIDetectionJobCommand,
} from "@aws-sdk/client-comprehendmedical";

const endpoint = process.argv[2];
const ROLE = "arn:aws:iam::123456789012:role/ComprehendAccess";
const UNKNOWN_JOB = "0".repeat(32);
const TOO_LONG_JOB = "a".repeat(33); // JobId allows at most 32 characters
// Dummy credentials: the server does not check them, and real ones must never leave for a test server.
const config = {
  endpoint, region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "AKIDCONFORMANCESUITE", secretAccessKey: "conformance-dummy-secret" },
};

// A call's outcome: the answer's members, or the modeled exception class the SDK raised.
async function outcome(client, command) {
  try {
    const { $metadata, ...output } = await client.send(command);
    return { ok: true, status: $metadata.httpStatusCode, output };
  } catch (error) {
    return { ok: false, status: error.$metadata?.httpStatusCode, error: error.name, message: error.message };
  }
}

async function lifecycle(client, start, Describe, Stop) {
  const started = await outcome(client, start);
  const jobId = started.output?.JobId;
  return {
    start: started,
    describe: await outcome(client, new Describe({ JobId: jobId })),
    stop: await outcome(client, new Stop({ JobId: jobId })),
    stopUnknown: await outcome(client, new Stop({ JobId: UNKNOWN_JOB })),
    stopTooLong: await outcome(client, new Stop({ JobId: TOO_LONG_JOB })),
  };
}

const comprehend = await lifecycle(
  new ComprehendClient(config),
  new StartPiiEntitiesDetectionJobCommand({
    InputDataConfig: { S3Uri: "s3://bucket/in/" }, OutputDataConfig: { S3Uri: "s3://bucket/out/" },
    Mode: "ONLY_OFFSETS", DataAccessRoleArn: ROLE, LanguageCode: "en", JobName: "js-sdk",
  }),
  DescribePiiEntitiesDetectionJobCommand, StopPiiEntitiesDetectionJobCommand,
);
const comprehendMedical = await lifecycle(
  new ComprehendMedicalClient(config),
  new StartPHIDetectionJobCommand({
    InputDataConfig: { S3Bucket: "bucket" }, OutputDataConfig: { S3Bucket: "bucket" },
    DataAccessRoleArn: ROLE, LanguageCode: "en",
  }),
  DescribePHIDetectionJobCommand, StopPHIDetectionJobCommand,
);
console.log(JSON.stringify({ comprehend, comprehendMedical }));
