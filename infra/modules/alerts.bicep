// How alerts reach the controller: an action group that posts to the `alerts` function with the
// common alert schema. The rules that use it live in each subscription holding an account
// (subscription-alerts.bicep).

@description('Base name of the action group.')
param name string

@description('Default host name of the function app.')
param functionAppHostName string

@description('The action group\'s own key on the alerts function (function-keys.bicep), never a host key.')
@secure()
param actionGroupKey string

@description('ALERT_SHARED_SECRET, sent as ?token= with every delivery.')
@secure()
param alertSharedSecret string

@description('Also authenticate each delivery with a Microsoft Entra ID token (secure webhook).')
param useSecureWebhook bool = false

@description('With useSecureWebhook: object id of the app registration (not of its service principal); the deployer owns it.')
param secureWebhookObjectId string = ''
param secureWebhookIdentifierUri string = ''
param secureWebhookTenantId string = ''

param tags object = {}

// One webhook receiver: unlike the Azure Function receiver, which builds its URL itself, a
// webhook keeps the ?token= that carries the shared secret. The URL holds the action group's own
// key of the alerts function, which opens that route and nothing else. Anyone who may read the
// action group can read the URL: a rotation deploys new values (infra/README.md).
var alertsUrl = 'https://${functionAppHostName}/api/alerts?code=${uriComponent(actionGroupKey)}&token=${uriComponent(alertSharedSecret)}'
var webhookReceiver = {
  name: 'vi-failover-alerts'
  serviceUri: alertsUrl
  useCommonAlertSchema: true
  useAadAuth: useSecureWebhook
}
// With the secure webhook, the app registration the action group gets tokens for.
var secureWebhookReceiver = {
  objectId: secureWebhookObjectId
  identifierUri: secureWebhookIdentifierUri
  tenantId: secureWebhookTenantId
}

// Service Health alert rules must use an action group in location Global.
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${name}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'vifailover'
    enabled: true
    webhookReceivers: [
      useSecureWebhook ? union(webhookReceiver, secureWebhookReceiver) : webhookReceiver
    ]
  }
}

output actionGroupId string = actionGroup.id
