package app.kvits.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import app.kvits.android.ui.KvitsApp
import app.kvits.android.ui.KvitsTheme

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        val core = (application as KvitsApplication).core
        setContent {
            KvitsTheme {
                KvitsApp(core)
            }
        }
    }
}
