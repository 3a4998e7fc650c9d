// How alerts reach the controller: an action group that posts to the `alerts` function with the
// common alert schema, a Service Health rule for Video Indexer in the accounts' regions, and two
// Resource Health rules for the accounts themselves.

@description('Base name of the action group and the rules.')
param name string

@description('Name of the function app (its host keys are read for the receiver URL).')
param functionAppName string

@description('Resource id of the function app.')
param functionAppId string

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

@description('Use a secure webhook (Microsoft Entra ID token) instead of the Azure Function receiver.')
param useSecureWebhook bool = false

param secureWebhookObjectId string = ''
param secureWebhookIdentifierUri string = ''
param secureWebhookTenantId string = ''

@secure()
param alertSharedSecret string = ''

param tags object = {}

// The receiver URL carries the host's default function key, read at deployment time. Trade-off:
// the key is stored in the action group (anyone who may read the action group can read it), a
// key rotation needs this template deployed again, and the deployment fails if the app's host
// cannot answer listKeys yet (deploy again once it runs). The secure webhook adds a Microsoft
// Entra ID token on top, so a leaked URL alone is not enough to post alerts.
var functionKey = listKeys(resourceId('Microsoft.Web/sites/host', functionAppName, 'default'), '2024-04-01').functionKeys.default
var tokenQuery = empty(alertSharedSecret) ? '' : '&token=${uriComponent(alertSharedSecret)}'
var alertsUrl = 'https://${functionAppHostName}/api/alerts?code=${uriComponent(functionKey)}${tokenQuery}'
var alertRegions = union(regionDisplayNames, [
  'Global'
])
var receiverName = 'vi-failover-alerts'

// Service Health alert rules must use an action group in location Global.
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${name}'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'vifailover'
    enabled: true
    azureFunctionReceivers: useSecureWebhook ? [] : [
      {
        name: receiverName
        functionAppResourceId: functionAppId
        functionName: 'alerts'
        httpTriggerUrl: alertsUrl
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: useSecureWebhook ? [
      {
        name: receiverName
        serviceUri: alertsUrl
        useCommonAlertSchema: true
        useAadAuth: true
        objectId: secureWebhookObjectId
        identifierUri: secureWebhookIdentifierUri
        tenantId: secureWebhookTenantId
      }
    ] : []
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
