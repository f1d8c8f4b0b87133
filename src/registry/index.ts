export { RegistryClient, type RegistryClientOptions, type RegistryRequest } from './client.ts';
export { pullImage, type PullEvent, type PullOptions, type PullResult } from './pull.ts';
export { pushImage, type PushOptions, type PushResult } from './push.ts';
export { parseChallenges, type Challenge, type Scope } from './challenge.ts';
export { chainCredentials, memoryCredentials, noCredentials, type CredentialStore, type Credentials } from './credentials.ts';
export { registryEndpoint, isLoopback, loginDomain, DOCKER_HUB_HOST } from './hosts.ts';
export { chooseFromIndex, RUNNABLE_PLATFORMS } from './manifests.ts';
export { registryImages, type RegistryImageSource } from './source.ts';
