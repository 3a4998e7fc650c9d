// The controller's state: one table holding every group's active-account entity, incidents and
// audit trail. Read-access geo-redundant, so apps can still read the flag from the secondary
// endpoint while this account's own region is down.

@description('Storage account name (3-24 lower-case letters and digits).')
param name string

param location string

@description('Standard_RAGZRS, or Standard_RAGRS in a region without availability zones.')
param sku string

@description('Name of the state table.')
param tableName string

@description('Name of the fan-out queue (FANOUT_QUEUE).')
param queueName string

@description('Principal id of the function app\'s managed identity.')
param appPrincipalId string

@description('Principal ids that may read the table (client apps).')
param readerPrincipalIds array = []

param tags object = {}

// Storage Table Data Contributor
var tableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Storage Table Data Reader
var tableDataReaderRoleId = '76199698-9eea-4c19-bc75-cec21354c6b6'
// Storage Queue Data Contributor
var queueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  kind: 'StorageV2'
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Microsoft Entra ID only: the app and readers use managed identities and RBAC.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

// The app creates the table on first use too; declaring it makes a fresh deployment ready at once.
resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-01-01' = {
  parent: tableService
  name: tableName
}

resource appTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, tableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

// An alert touching many groups is applied from this queue; the app would create it too.
resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: queueName
}

// Send (the alert webhook), and receive, update and delete (the queue trigger, which also
// writes to the poison queue).
resource appQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, queueDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributorRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// No principalType: a reader may be a user, a group or a service principal.
resource readerTableDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for readerId in readerPrincipalIds: {
  name: guid(storage.id, readerId, tableDataReaderRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataReaderRoleId)
    principalId: readerId
  }
}]

output id string = storage.id
output name string = storage.name
output tablePrimaryEndpoint string = storage.properties.primaryEndpoints.table
output tableSecondaryEndpoint string = storage.properties.secondaryEndpoints.table
output queuePrimaryEndpoint string = storage.properties.primaryEndpoints.queue
