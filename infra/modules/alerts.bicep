// How alerts reach the controller: an action group that posts to the `alerts` function with the
// common alert schema, a Service Health rule for Video Indexer in the accounts' regions, and two
// Resource Health rules for the accounts themselves.

@description('Base name of the action group and the rules.')
param name string

@description('Default host name of the function app.')
param functionAppHostName string

@description('Resource ids of the Video Indexer accounts.')
param accountIds array

@description('Service Health display names of the accounts\' regions; Global is added here.')
param regionDisplayNames array

@description('Service Health ServiceName values that mean Video Indexer.')
param serviceNames array

@description('Service Health incident types to deliver.')
param incidentTypes array

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
var alertRegions = union(regionDisplayNames, [
  'Global'
])
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

resource serviceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: '${name}-service-health'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    description: 'Video Indexer Service Health events in the accounts\' regions (or Global), for vi-failover.'
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ServiceHealth'
        }
        {
          anyOf: [for incidentType in incidentTypes: {
            field: 'properties.incidentType'
            equals: incidentType
          }]
        }
        {
          field: 'properties.impactedServices[*].ServiceName'
          containsAny: serviceNames
        }
        {
          field: 'properties.impactedServices[*].ImpactedRegions[*].RegionName'
          containsAny: alertRegions
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
}

// Two Resource Health rules, because an anyOf may hold conditions on one field only: one fires
// when an account enters a bad state (current status), the other when it leaves one (previous
// status), so the controller hears both the outage and the recovery that closes the incident.
resource resourceHealthCurrentAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: '${name}-resource-health-current'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    description: 'A Video Indexer account became Unavailable, Degraded or Unknown (Resource Health), for vi-failover.'
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ResourceHealth'
        }
        {
          field: 'resourceType'
          equals: 'Microsoft.VideoIndexer/accounts'
        }
        {
          anyOf: [for accountId in accountIds: {
            field: 'resourceId'
            equals: accountId
          }]
        }
        {
          anyOf: [
            {
              field: 'properties.currentHealthStatus'
              equals: 'Unavailable'
            }
            {
              field: 'properties.currentHealthStatus'
              equals: 'Degraded'
            }
            {
              field: 'properties.currentHealthStatus'
              equals: 'Unknown'
            }
          ]
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
}

resource resourceHealthPreviousAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: '${name}-resource-health-previous'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    description: 'A Video Indexer account left Unavailable, Degraded or Unknown (Resource Health), for vi-failover.'
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ResourceHealth'
        }
        {
          field: 'resourceType'
          equals: 'Microsoft.VideoIndexer/accounts'
        }
        {
          anyOf: [for accountId in accountIds: {
            field: 'resourceId'
            equals: accountId
          }]
        }
        {
          anyOf: [
            {
              field: 'properties.previousHealthStatus'
              equals: 'Unavailable'
            }
            {
              field: 'properties.previousHealthStatus'
              equals: 'Degraded'
            }
            {
              field: 'properties.previousHealthStatus'
              equals: 'Unknown'
            }
          ]
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
