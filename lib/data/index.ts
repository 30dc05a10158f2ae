// Filled by a later issue (see the project's issues); empty for now.
export {};
