// Test-only bridge to @cloud-copilot/iam-simulate (AGPL-3.0; never shipped with bucketshare).
// Reads one JSON document on stdin: {"groups": [{"policy": {...}, "requests": [...]}, ...]}
// where each request is {"principal", "action", "resource", "resourceAccount", "context"}.
// Writes {"groups": [[answer, ...], ...]} on stdout, one answer per request:
// {"result": "Allowed"|"ExplicitlyDenied"|"ImplicitlyDenied", "denySids": [...], "allowSids": [...],
//  "ignoredContextKeys": [...]} or {"error": "..."} when the simulator refused the input.
import { runSimulation } from '@cloud-copilot/iam-simulate'

// The principal's own identity policy allows everything, and the bucket is in another
// account, so the verdict is the bucket policy's alone (cross-account needs both sides).
const ALLOW_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }]
}

function statementLabel(analysis) {
  const sid = analysis.statement.sid()
  return sid === undefined || sid === '' ? `#${analysis.statement.index()}` : sid
}

async function answer(policy, request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resourceAccount },
      contextVariables: request.context
    },
    identityPolicies: [{ name: 'allow-all', policy: ALLOW_ALL }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policy
  }
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    return { error: JSON.stringify(response.errors) }
  }
  if (response.resultType !== 'single') {
    return { error: `unexpected result type ${response.resultType}` }
  }
  const analysis = response.result.analysis
  const resource = analysis.resourceAnalysis ?? { denyStatements: [], allowStatements: [] }
  return {
    result: response.overallResult,
    denySids: resource.denyStatements.map(statementLabel),
    allowSids: resource.allowStatements.map(statementLabel),
    ignoredContextKeys: response.result.ignoredContextKeys ?? []
  }
}

async function main() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const groups = []
  for (const group of input.groups) {
    const answers = []
    for (const request of group.requests) {
      try {
        answers.push(await answer(group.policy, request))
      } catch (err) {
        answers.push({ error: String(err && err.stack ? err.stack : err) })
      }
    }
    groups.push(answers)
  }
  process.stdout.write(JSON.stringify({ groups }))
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
