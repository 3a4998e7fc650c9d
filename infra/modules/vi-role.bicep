// The controller's own role on the Video Indexer accounts: read an account (ARM get, for
// readiness and for resolving accountId and location) and mint a data-plane access token for the
// probe. Nothing else: no write, no delete, no wildcard, so the identity cannot change or remove
// an account. Contributor would allow all of that.
//
// A role definition lives in the tenant and is assignable where assignableScopes say, so it is
// deployed once (in the first account's subscription) for every subscription holding an account.
targetScope = 'subscription'

@description('Name of the role definition: a GUID that stays the same across deployments of this controller.')
param roleGuid string

@description('Role name; role names are unique in the tenant, so it carries the function app name.')
param roleName string

@description('Subscription ids (GUIDs) that hold the accounts; the role is assignable in each.')
param subscriptionIds array

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: roleName
    description: 'vi-failover: read Video Indexer accounts and generate their access tokens; no write or delete.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.VideoIndexer/accounts/read'
          'Microsoft.VideoIndexer/accounts/generateAccessToken/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [for subscriptionId in subscriptionIds: '/subscriptions/${subscriptionId}']
  }
}

output name string = role.name
