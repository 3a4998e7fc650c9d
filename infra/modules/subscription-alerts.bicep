// The alert rules of one subscription that holds Video Indexer accounts, deployed into a resource
// group of that subscription (main.bicep deploys it once per such subscription). Service Health
// notifies only the subscriptions with affected resources, and a Service Health rule may watch
// only the subscription it is created in, so a rule in the controller's subscription never hears
// about accounts elsewhere. Every subscription's rules use the one action group.

@description('Base name of the rules.')
param name string

@description('Resource id of the action group (alerts.bicep), in the controller\'s resource group.')
param actionGroupId string

@description('Resource ids of all the Video Indexer accounts; the rules watch the ones in this subscription.')
param accountIds array

@description('Service Health display names of the accounts\' regions; Global is added here.')
param regionDisplayNames array

@description('Service Health ServiceName values that mean Video Indexer.')
param serviceNames array

@description('Service Health incident types to deliver.')
param incidentTypes array

param tags object = {}

// Resource Health events of an account reach only its own subscription's rules.
var subscriptionAccountIds = filter(accountIds, id => toLower(split(id, '/')[2]) == toLower(subscription().subscriptionId))
var alertRegions = union(regionDisplayNames, [
  'Global'
])

resource serviceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: '${name}-service-health'
  location: 'global'
  tags: tags
  properties: {
    enabled: true
    description: 'Video Indexer Service Health events in the accounts\' regions (or Global) that concern this subscription, for vi-failover.'
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
          actionGroupId: actionGroupId
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
          anyOf: [for accountId in subscriptionAccountIds: {
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
          actionGroupId: actionGroupId
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
          anyOf: [for accountId in subscriptionAccountIds: {
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
          actionGroupId: actionGroupId
        }
      ]
    }
  }
}
