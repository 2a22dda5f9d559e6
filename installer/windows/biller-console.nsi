; NSIS script of BillerConsole-<version>-setup.exe; installer/windows/build.sh runs
;   makensis -DVERSION=0.1.0 -DVERSION4=0.1.0.0 -DSRCDIR=<bundle> -DICON=<ico> -DOUTFILE=<exe> biller-console.nsi
;
; Per machine into Program Files (64-bit view), Start-menu shortcut for all users, an uninstall
; entry with version and publisher. Silent: setup.exe /S; uninstall.exe /S. An older version is
; uninstalled first (its uninstaller, silently), so an upgrade leaves no stale files; the user's
; profiles, journal and logs (%LOCALAPPDATA%\biller-console) and keyring entries (Credential
; Manager) are never in Program Files and stay. uninstall.exe /S /PURGE also deletes the data of
; the user who runs it.

Unicode true
Target amd64-unicode        ; a 64-bit setup.exe: Debian's default stub is 32-bit, which a 64-bit-only Wine cannot run
!ifdef FAST
SetCompress off             ; the upgrade test's throw-away older installer
!else
SetCompressor /SOLID lzma
!endif

!define PRODUCT "Biller Console"
!define PUBLISHER "Biller Console Project"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\BillerConsole"
!define DATA_DIR "$LOCALAPPDATA\biller-console"

!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
Icon "${ICON}"
UninstallIcon "${ICON}"
InstallDir "$PROGRAMFILES64\${PRODUCT}"
RequestExecutionLevel admin
ShowInstDetails nevershow
ShowUninstDetails nevershow

VIProductVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "${PRODUCT} setup"
VIAddVersionKey "FileVersion" "${VERSION4}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "© ${PUBLISHER}"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Function .onInit
    SetRegView 64
    SetShellVarContext all
    ; an installed version: install over it, where it is
    ReadRegStr $0 HKLM "${UNINSTALL_KEY}" "InstallLocation"
    ${If} $0 != ""
        StrCpy $INSTDIR $0
    ${EndIf}
FunctionEnd

Section "Program" SecProgram
    ; remove the older version's files with its own uninstaller (synchronously: _?= keeps it in place)
    ${If} ${FileExists} "$INSTDIR\uninstall.exe"
        ExecWait '"$INSTDIR\uninstall.exe" /S _?=$INSTDIR' $1
        Delete "$INSTDIR\uninstall.exe"
    ${EndIf}
    SetOutPath "$INSTDIR"
    File /r "${SRCDIR}\*.*"
    WriteUninstaller "$INSTDIR\uninstall.exe"
    CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\biller-console.exe" "" "$INSTDIR\biller-console.exe" 0

    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\biller-console.exe"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
    WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
    ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

Function un.onInit
    SetRegView 64
    SetShellVarContext all
FunctionEnd

Section "Uninstall"
    Delete "$SMPROGRAMS\${PRODUCT}.lnk"
    ; only a folder that holds this program is removed, whatever INSTDIR was set to
    ${If} ${FileExists} "$INSTDIR\biller-console.exe"
        RMDir /r "$INSTDIR\_internal"
        Delete "$INSTDIR\biller-console.exe"
        Delete "$INSTDIR\biller-console-cli.exe"
        Delete "$INSTDIR\uninstall.exe"
        RMDir "$INSTDIR"
    ${EndIf}
    DeleteRegKey HKLM "${UNINSTALL_KEY}"
    ; the user's data stays unless asked: uninstall.exe /S /PURGE
    ${GetOptions} $CMDLINE "/PURGE" $0
    ${IfNot} ${Errors}
        SetShellVarContext current
        RMDir /r "${DATA_DIR}"
    ${EndIf}
SectionEnd
