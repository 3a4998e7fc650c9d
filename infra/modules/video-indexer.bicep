// Optional (deployVideoIndexerAccounts): one Video Indexer account with its own storage account,
// for trials. Production accounts usually exist already and are given to main.bicep by id.

@description('Name of the Video Indexer account.')
param accountName string

@description('Name of its storage account (3-24 lower-case letters and digits).')
param storageAccountName string

@description('Region of both.')
param location string

param tags object = {}

// Video Indexer needs a general-purpose v2 account in its own region.
resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: storageAccountName
  location: location
  tags: tags
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource account 'Microsoft.VideoIndexer/accounts@2025-04-01' = {
  name: accountName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    storageServices: {
      resourceId: storage.id
    }
  }
}

// A module of its own so the role assignment's name can be guid(scope, principalId, role): the
// account's principal id is known only once the account exists.
module storageAccess 'vi-storage-access.bicep' = {
  name: 'vi-storage-access-${accountName}'
  params: {
    storageAccountName: storage.name
    principalId: account.identity.principalId
  }
}

output id string = account.id
output principalId string = account.identity.principalId
