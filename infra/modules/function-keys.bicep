// Keys of single functions, so that each caller holds a key that opens only its own routes: the
// action group's `action-group` key on `alerts`, and the readers' keys on the read functions. No
// host key (neither `default` nor the master key) is read or handed out by the deployment. A key
// is stored in the Functions host's secrets, so the functions must exist: main.bicep deploys this
// module only with appCodePublished (infra/README.md, "Deploy").

@description('Name of the function app.')
param functionAppName string

@description('Value of the action group\'s key on the alerts function.')
@secure()
param actionGroupKey string

@description('Readers\' keys, key name to value, each set on every read function.')
@secure()
param readerKeys object = {}

// The function-level GET routes of function_app.py: GET /api/active-account, /api/status,
// /api/history, /api/groups and /api/console. tests/test_infra.py keeps this list equal to the
// app's.
var readFunctionNames = [
  'active_account'
  'status'
  'history'
  'groups'
  'console'
]
// Names only: a message never shows a key's value.
var shortReaderKeyNames = map(filter(items(readerKeys), key => length(key.value) < 32), key => key.key)
var shortReaderKeyNamesText = string(shortReaderKeyNames)
// Every (read function, key) pair, so that each key is set on each read function.
var readerKeyGrants = empty(shortReaderKeyNames) ? flatten(map(readFunctionNames, functionName => map(items(readerKeys), key => {
  functionName: functionName
  keyName: key.key
  value: key.value
}))) : fail('readerKeys: each key needs 32 or more characters; too short: ${shortReaderKeyNamesText}')

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource alertsFunction 'Microsoft.Web/sites/functions@2024-04-01' existing = {
  parent: site
  name: 'alerts'
}

resource actionGroupFunctionKey 'Microsoft.Web/sites/functions/keys@2024-04-01' = {
  parent: alertsFunction
  name: 'action-group'
  value: actionGroupKey
}

resource readerFunctionKeys 'Microsoft.Web/sites/functions/keys@2024-04-01' = [for grant in readerKeyGrants: {
  name: '${site.name}/${grant.functionName}/${grant.keyName}'
  value: grant.value
}]
