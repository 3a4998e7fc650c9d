// Keys of single functions, so that each caller holds a key that opens only its own routes: the
// action group's `action-group` key on `alerts`. No host key (neither `default` nor the master
// key) is read or handed out by the deployment. A key is stored in the Functions host's secrets,
// so the functions must exist: the code has to be published before this module runs
// (infra/README.md, "Deploy").

@description('Name of the function app.')
param functionAppName string

@description('Value of the action group\'s key on the alerts function.')
@secure()
param actionGroupKey string

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
