; Inno Setup 6 script for Dataset Vault on Windows (x64).
;
; Input: the PyInstaller one-folder bundle dist\dataset-vault\ (vault.exe + vault-app.exe
; over one _internal\ folder), built on Windows with
;     python -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\pyinstaller\dataset-vault.spec
; Build:  iscc /DAppVersion=0.1.0 packaging\windows\dataset-vault.iss
; Output: dist\dataset-vault-<version>-setup.exe
;
; What it installs, and removes again on uninstall:
;   * the bundle under Program Files (or the user's programs folder for a per-user install)
;   * Start menu (and optional desktop) shortcut to vault-app.exe
;   * the .age file association: ProgID DatasetVault.AgeFile, double-click opens vault-app
;   * Explorer context-menu verbs: "Unlock with Dataset Vault" on .age files,
;     "Lock with Dataset Vault" on every other file (Windows 11 lists classic verbs under
;     "Show more options"; a top-level Windows 11 entry would need an IExplorerCommand
;     COM handler in a signed sparse package, which this recipe does not ship)
;   * optionally the install folder on PATH, so `vault` works in a terminal
; The verbs say what they mean: vault-app --lock "%1" / --unlock "%1". Explorer starts
; one process per selected file; each hands its file to the running window (single
; instance), which merges requests that arrive together into one question.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Dataset Vault"
#define AppExe "vault-app.exe"
#define CliExe "vault.exe"
#define ProgId "DatasetVault.AgeFile"
#define BundleDir "..\..\dist\dataset-vault"

[Setup]
AppId={{6B1E3C52-4A0F-4B8E-9D3C-2F6A9E1D7C40}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Dataset Vault developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Admin install by default (HKLM association for every user); the user may pick a
; per-user install instead, then every HKA entry below lands in HKCU.
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
ChangesEnvironment=yes
OutputDir=..\..\dist
OutputBaseFilename=dataset-vault-{#AppVersion}-setup
SetupIconFile=..\icons\dataset-vault.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the vault command line to PATH"; GroupDescription: "Command line:"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; --- .age file association (ProgID), removed on uninstall ---------------------------------
Root: HKA; Subkey: "Software\Classes\.age"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.age"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-age-encrypted"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.age\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue uninsdeletekeyifempty
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "age encrypted file"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell"; ValueType: string; ValueName: ""; ValueData: "open"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open"; ValueType: string; ValueName: ""; ValueData: "Open with {#AppName}"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; "Unlock with Dataset Vault" on .age files (a verb of the ProgID, so only locked files show it)
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\DatasetVault.Unlock"; ValueType: string; ValueName: ""; ValueData: "Unlock with {#AppName}"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\DatasetVault.Unlock"; ValueType: string; ValueName: "Icon"; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\DatasetVault.Unlock\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" --unlock ""%1"""
; --- "Lock with Dataset Vault" on every file except .age (AppliesTo is an AQS filter) ----
Root: HKA; Subkey: "Software\Classes\*\shell\DatasetVault.Lock"; ValueType: string; ValueName: ""; ValueData: "Lock with {#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\*\shell\DatasetVault.Lock"; ValueType: string; ValueName: "Icon"; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\*\shell\DatasetVault.Lock"; ValueType: string; ValueName: "AppliesTo"; ValueData: "NOT System.FileExtension:=.age"
Root: HKA; Subkey: "Software\Classes\*\shell\DatasetVault.Lock\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" --lock ""%1"""
; --- "Open with" registration of the application itself --------------------------------
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".age"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; --- PATH (optional task); removed again by [Code] on uninstall ---------------------------
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: IsAdminInstallMode and NeedsAddPath(ExpandConstant('{app}'))
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: (not IsAdminInstallMode) and NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; The install folder goes with the installed files. The user's data (vaults, keys in the
; Credential Locker, settings) belongs to the user and is deliberately NOT removed.
Type: dirifempty; Name: "{app}"

[Code]
function PathKey(var Root: Integer; var Key: String): Boolean;
begin
  if IsAdminInstallMode then begin
    Root := HKEY_LOCAL_MACHINE;
    Key := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';
  end else begin
    Root := HKEY_CURRENT_USER;
    Key := 'Environment';
  end;
  Result := True;
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Root: Integer;
  Key, Paths: String;
begin
  PathKey(Root, Key);
  if not RegQueryStringValue(Root, Key, 'Path', Paths) then begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;

procedure RemoveFromPath(Dir: String);
var
  Root, P: Integer;
  Key, Paths: String;
begin
  PathKey(Root, Key);
  if not RegQueryStringValue(Root, Key, 'Path', Paths) then exit;
  Paths := ';' + Paths + ';';
  P := Pos(';' + Uppercase(Dir) + ';', Uppercase(Paths));
  if P = 0 then exit;
  Delete(Paths, P, Length(Dir) + 1);
  Paths := Copy(Paths, 2, Length(Paths) - 2);
  RegWriteExpandStringValue(Root, Key, 'Path', Paths);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
